#include "mproc/lock.hpp"

#include <type_traits>

#include "mproc/error.hpp"
#include "sync/shared_state.hpp"
#include "sys/robust_mutex.hpp"

namespace mproc {

namespace detail {
struct MutexState {
  explicit MutexState(bool recursive) : mutex(recursive) {}
  sys::RobustMutex mutex;
};
}  // namespace detail

namespace {
bool check(sys::RobustMutex::Result r) {
  if (r == sys::RobustMutex::Result::owner_died) throw OwnerDied();
  return r == sys::RobustMutex::Result::acquired;
}
}  // namespace

BasicLock::BasicLock(bool recursive)
    : state_(detail::make_shared_state<detail::MutexState>(recursive)) {}

void BasicLock::acquire() { (void)check(state_->mutex.lock(std::nullopt)); }

bool BasicLock::acquire_for(std::chrono::nanoseconds timeout) {
  if (timeout.count() <= 0) return try_lock();
  return check(state_->mutex.lock(detail::deadline_after(timeout)));
}

bool BasicLock::try_lock() { return check(state_->mutex.try_lock()); }

void BasicLock::release() {
  if (!state_->mutex.unlock()) {
    throw Error("Lock::release: the calling thread does not hold the lock");
  }
}

}  // namespace mproc
