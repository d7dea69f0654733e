#include "sys/robust_mutex.hpp"

#include <pthread.h>

#include <cerrno>

#include "mproc/error.hpp"

namespace mproc::sys {

static_assert(sizeof(pthread_mutex_t) <= kRobustMutexSize);
static_assert(alignof(pthread_mutex_t) <= kRobustMutexAlign);

namespace {
pthread_mutex_t* as_mutex(void* storage) { return static_cast<pthread_mutex_t*>(storage); }

void check_pthread(int err, const char* call) {
  if (err != 0) detail::throw_errno(call, err);
}

LockResult after_lock(int err, pthread_mutex_t* m, const char* call) {
  if (err == 0) return LockResult::acquired;
  if (err == EBUSY) return LockResult::busy;
  if (err == EOWNERDEAD) {
    check_pthread(pthread_mutex_consistent(m), "pthread_mutex_consistent");
    return LockResult::owner_died;
  }
  detail::throw_errno(call, err);
}
}  // namespace

void robust_mutex_init(void* storage) {
  pthread_mutexattr_t attr;
  check_pthread(pthread_mutexattr_init(&attr), "pthread_mutexattr_init");
  struct AttrGuard {
    pthread_mutexattr_t* a;
    ~AttrGuard() { pthread_mutexattr_destroy(a); }
  } guard{&attr};
  check_pthread(pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED),
                "pthread_mutexattr_setpshared");
  check_pthread(pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST),
                "pthread_mutexattr_setrobust");
  check_pthread(pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE),
                "pthread_mutexattr_settype");
  check_pthread(pthread_mutex_init(as_mutex(storage), &attr), "pthread_mutex_init");
}

LockResult robust_mutex_lock(void* storage) {
  pthread_mutex_t* m = as_mutex(storage);
  return after_lock(pthread_mutex_lock(m), m, "pthread_mutex_lock");
}

LockResult robust_mutex_try_lock(void* storage) {
  pthread_mutex_t* m = as_mutex(storage);
  return after_lock(pthread_mutex_trylock(m), m, "pthread_mutex_trylock");
}

void robust_mutex_unlock(void* storage) noexcept { pthread_mutex_unlock(as_mutex(storage)); }

}  // namespace mproc::sys
