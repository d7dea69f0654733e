#include "sys/robust_mutex.hpp"

#include <time.h>

#include <cerrno>

#include "mproc/error.hpp"

#if defined(__SANITIZE_THREAD__)
#include <sanitizer/tsan_interface.h>
#endif

namespace mproc::sys {

RobustMutex::RobustMutex(bool recursive) {
  pthread_mutexattr_t attr;
  if (const int rc = ::pthread_mutexattr_init(&attr); rc != 0) {
    detail::throw_errno("pthread_mutexattr_init", rc);
  }
  int rc = ::pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
  if (rc == 0) rc = ::pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
  if (rc == 0) {
    rc = ::pthread_mutexattr_settype(&attr,
                                     recursive ? PTHREAD_MUTEX_RECURSIVE : PTHREAD_MUTEX_NORMAL);
  }
  if (rc == 0) rc = ::pthread_mutex_init(&mutex_, &attr);
  ::pthread_mutexattr_destroy(&attr);
  if (rc != 0) detail::throw_errno("pthread_mutex_init", rc);
}

RobustMutex::Result RobustMutex::finish(int rc, const char* call) {
  switch (rc) {
    case 0:
      return Result::acquired;
    case EOWNERDEAD:
      // We hold it now; mark it usable again, or the next unlock makes it unrecoverable.
      if (const int c = ::pthread_mutex_consistent(&mutex_); c != 0) {
        detail::throw_errno("pthread_mutex_consistent", c);
      }
      return Result::owner_died;
    case EBUSY:
    case ETIMEDOUT:
      return Result::busy;
    default:
      detail::throw_errno(call, rc);
  }
}

RobustMutex::Result RobustMutex::lock(
    std::optional<std::chrono::steady_clock::time_point> deadline) {
  if (!deadline) {
    int rc;
    do rc = ::pthread_mutex_lock(&mutex_);
    while (rc == EINTR);
    return finish(rc, "pthread_mutex_lock");
  }
  const auto ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(deadline->time_since_epoch()).count();
  timespec ts{};
  ts.tv_sec = static_cast<time_t>(ns < 0 ? 0 : ns / 1'000'000'000);
  ts.tv_nsec = static_cast<long>(ns < 0 ? 0 : ns % 1'000'000'000);
  // steady_clock is CLOCK_MONOTONIC on Linux; the deadline is absolute, so an EINTR retry
  // (POSIX says there is none, but be sure) cannot stretch the wait.
  int rc;
#if defined(__SANITIZE_THREAD__)
  // ThreadSanitizer (GCC 12) does not intercept pthread_mutex_clocklock: tell it by hand.
  __tsan_mutex_pre_lock(&mutex_, __tsan_mutex_try_lock);
#endif
  do rc = ::pthread_mutex_clocklock(&mutex_, CLOCK_MONOTONIC, &ts);
  while (rc == EINTR);
#if defined(__SANITIZE_THREAD__)
  __tsan_mutex_post_lock(&mutex_,
                         rc == 0 || rc == EOWNERDEAD
                             ? __tsan_mutex_try_lock
                             : __tsan_mutex_try_lock | __tsan_mutex_try_lock_failed,
                         0);
#endif
  return finish(rc, "pthread_mutex_clocklock");
}

RobustMutex::Result RobustMutex::try_lock() {
  return finish(::pthread_mutex_trylock(&mutex_), "pthread_mutex_trylock");
}

bool RobustMutex::unlock() noexcept { return ::pthread_mutex_unlock(&mutex_) == 0; }

}  // namespace mproc::sys
