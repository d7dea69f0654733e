// Waiting for fds to become readable, with an optional timeout. EINTR is retried with the time
// that is left, so a signal storm neither shortens nor stretches the wait.
#pragma once

#include <chrono>
#include <optional>
#include <span>

namespace mproc::sys {

// Waits until at least one of `fds` is readable (or has hung up / errored) or `timeout` passes
// (nullopt: no timeout). Returns one flag per fd in `ready`, and whether any fd was ready.
// Throws SystemError("ppoll").
bool wait_readable(std::span<const int> fds, std::span<bool> ready,
                   std::optional<std::chrono::nanoseconds> timeout);

// One fd. Returns true when readable, false on timeout.
bool wait_readable(int fd, std::optional<std::chrono::nanoseconds> timeout);

}  // namespace mproc::sys
