#include "mproc/detail/robust_mutex.hpp"

#include <new>

#include "mproc/error.hpp"
#include "sys/robust_mutex.hpp"

namespace mproc::detail {
namespace {
// The storage holds one sys::RobustMutex (recursive), the same lock the sync module uses.
sys::RobustMutex& mutex_in(unsigned char* storage) {
  return *std::launder(reinterpret_cast<sys::RobustMutex*>(storage));
}
}  // namespace

static_assert(sizeof(sys::RobustMutex) <= 64 && alignof(sys::RobustMutex) <= 16);

RobustMutex::RobustMutex() : storage_{} { new (storage_) sys::RobustMutex(true); }

void RobustMutex::lock() {
  if (mutex_in(storage_).lock(std::nullopt) == sys::RobustMutex::Result::owner_died) {
    throw OwnerDied();
  }
}

bool RobustMutex::try_lock() {
  switch (mutex_in(storage_).try_lock()) {
    case sys::RobustMutex::Result::acquired:
      return true;
    case sys::RobustMutex::Result::busy:
      return false;
    case sys::RobustMutex::Result::owner_died:
      break;
  }
  throw OwnerDied();
}

void RobustMutex::unlock() noexcept { (void)mutex_in(storage_).unlock(); }

}  // namespace mproc::detail
