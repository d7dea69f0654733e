// What the timed waits of the synchronization primitives share: a std::chrono duration of any
// type, converted without overflow.
#pragma once

#include <chrono>
#include <optional>

namespace mproc::detail {

// timeout in nanoseconds, rounded up; negative becomes 0, anything beyond ~292 years saturates
// to nanoseconds::max() ("no timeout").
template <class Rep, class Period>
[[nodiscard]] std::chrono::nanoseconds to_timeout_ns(std::chrono::duration<Rep, Period> timeout) {
  if (std::chrono::duration<double, std::nano>(timeout).count() >= 9.0e18) {
    return std::chrono::nanoseconds::max();
  }
  const auto ns = std::chrono::ceil<std::chrono::nanoseconds>(timeout);
  return ns.count() < 0 ? std::chrono::nanoseconds::zero() : ns;
}

// An absolute CLOCK_MONOTONIC deadline; nullopt: wait forever.
using Deadline = std::optional<std::chrono::steady_clock::time_point>;

// nanoseconds::max() (from to_timeout_ns) means no deadline; so does anything past ~30 years,
// which now() + timeout could not hold.
[[nodiscard]] inline Deadline deadline_after(std::chrono::nanoseconds timeout) {
  if (timeout >= std::chrono::nanoseconds(1'000'000'000'000'000'000)) return std::nullopt;
  return std::chrono::steady_clock::now() + timeout;
}

// Time left until deadline (nullopt: forever); zero once it has passed.
[[nodiscard]] inline std::optional<std::chrono::nanoseconds> time_left(Deadline deadline) {
  if (!deadline) return std::nullopt;
  const auto left = *deadline - std::chrono::steady_clock::now();
  return left.count() > 0 ? std::chrono::duration_cast<std::chrono::nanoseconds>(left)
                          : std::chrono::nanoseconds::zero();
}

}  // namespace mproc::detail
