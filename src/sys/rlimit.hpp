// Resource limits of the calling process.
#pragma once

namespace mproc::sys {

// Raises the soft RLIMIT_NOFILE to the hard limit (every Lock, Event, Queue... holds a memfd, and
// the default soft limit of 1024 is low for a program that makes many). Returns false if
// getrlimit/setrlimit failed; nothing changed then.
bool raise_open_file_limit() noexcept;

}  // namespace mproc::sys
