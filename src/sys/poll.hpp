// Waiting for fds to become readable: ppoll(2) with a deadline that survives signals.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <span>

namespace mproc::sys {

// Waits until at least one of fds is readable, hung up or in error, or the timeout passes
// (nullopt: no timeout; <= 0: just look). EINTR is retried with the remaining time. Returns, for
// each fd, whether it is ready (all false on timeout). Throws SystemError("ppoll", EBADF) for an
// fd that is not open.
[[nodiscard]] std::size_t wait_readable(std::span<const int> fds, std::span<bool> ready,
                                        std::optional<std::chrono::nanoseconds> timeout);

// One fd: true when it is readable (or hung up), false on timeout.
[[nodiscard]] bool wait_readable(int fd, std::optional<std::chrono::nanoseconds> timeout);

}  // namespace mproc::sys
