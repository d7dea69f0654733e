// What the timed waits of the synchronization primitives share: a std::chrono duration of any
// type, converted without overflow.
#pragma once

#include <chrono>

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

}  // namespace mproc::detail
