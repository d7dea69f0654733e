// The one way raw syscalls report failure: check_unix() turns -1 into SystemError naming the
// call; retry_eintr() retries a call interrupted by a signal (never use it for close()).
#pragma once

#include <cerrno>
#include <type_traits>

#include "mproc/error.hpp"

namespace mproc::sys {

template <class T>
T check_unix(T result, const char* call) {
  if (result == static_cast<T>(-1)) detail::throw_errno(call);
  return result;
}

// Calls f() until it does not fail with EINTR; returns its last result (errno intact).
template <class F>
auto retry_eintr(F&& f) -> decltype(f()) {
  for (;;) {
    auto r = f();
    if (r != static_cast<decltype(r)>(-1) || errno != EINTR) return r;
  }
}

// retry_eintr + check_unix.
template <class F>
auto call_unix(const char* call, F&& f) -> decltype(f()) {
  return check_unix(retry_eintr(static_cast<F&&>(f)), call);
}

}  // namespace mproc::sys
