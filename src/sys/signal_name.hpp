// Names of signals for error messages: "SIGSEGV" and "Segmentation fault". Both are thread-safe
// (no static buffer, unlike strsignal) and never throw anything but std::bad_alloc.
#pragma once

#include <string>

namespace mproc::sys {

// The abbreviation with its "SIG" prefix: signal_name(SIGSEGV) == "SIGSEGV". Real-time signals
// read "SIGRTMIN+3"; a number that names no signal reads "signal 99".
[[nodiscard]] std::string signal_name(int sig);

// What the signal means: signal_description(SIGSEGV) == "Segmentation fault"; "Unknown signal 99"
// for a number that names no signal.
[[nodiscard]] std::string signal_description(int sig);

}  // namespace mproc::sys
