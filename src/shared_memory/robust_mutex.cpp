#include "mproc/detail/robust_mutex.hpp"

#include "mproc/error.hpp"
#include "sys/robust_mutex.hpp"

namespace mproc::detail {

static_assert(sizeof(RobustMutex) == sys::kRobustMutexSize);
static_assert(alignof(RobustMutex) == sys::kRobustMutexAlign);

RobustMutex::RobustMutex() : storage_{} { sys::robust_mutex_init(storage_); }

void RobustMutex::lock() {
  if (sys::robust_mutex_lock(storage_) == sys::LockResult::owner_died) throw OwnerDied();
}

bool RobustMutex::try_lock() {
  switch (sys::robust_mutex_try_lock(storage_)) {
    case sys::LockResult::acquired:
      return true;
    case sys::LockResult::busy:
      return false;
    case sys::LockResult::owner_died:
      break;
  }
  throw OwnerDied();
}

void RobustMutex::unlock() noexcept { sys::robust_mutex_unlock(storage_); }

}  // namespace mproc::detail
