// The machinery under a crash handler: an alternate signal stack, handlers for the signals that
// mean "this process is broken", the faulting instruction from a signal's context, and a stack
// capture that is safe inside such a handler once prepared.
//
// Process-wide by nature (signal dispositions are); meant for a freshly forked worker. All of it
// except install_fatal_signal_handlers and prepare_stack_capture is async-signal-safe.
#pragma once

#include <signal.h>

#include <cstddef>
#include <cstdint>

namespace mproc::sys {

using FatalSignalHandler = void (*)(int sig, siginfo_t* info, void* ucontext);

// SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGTRAP, SIGSYS.
inline constexpr int kFatalSignals[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGTRAP, SIGSYS};

// Gives the calling thread an alternate signal stack (mapped once per process, with a guard page
// below it, and kept for the life of the process) so that a handler runs even after a stack
// overflow, then installs `handler` for every kFatalSignals with SA_ONSTACK | SA_SIGINFO |
// SA_RESETHAND and all other signals blocked while it runs. Throws SystemError("mmap",
// "sigaltstack", "sigaction").
void install_fatal_signal_handlers(FatalSignalHandler handler);

// The first backtrace() loads the unwinder (dlopen, malloc): not async-signal-safe. Call this
// once before a handler may need capture_stack.
void prepare_stack_capture() noexcept;

// Return addresses of the calling thread's stack, innermost first, starting with capture_stack's
// caller; at most `max`. Across a signal frame the interrupted instruction's address appears
// exactly (it is not a return address). Returns how many were written.
std::size_t capture_stack(std::uintptr_t* out, std::size_t max) noexcept;

// The address of the instruction the signal interrupted (from the handler's ucontext), or 0 on
// architectures this does not know.
[[nodiscard]] std::uintptr_t interrupted_pc(const void* ucontext) noexcept;

}  // namespace mproc::sys
