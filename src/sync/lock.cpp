#include "mproc/lock.hpp"

#include <type_traits>

#include "handle/wire.hpp"
#include "mproc/detail/handle.hpp"
#include "mproc/error.hpp"
#include "sync/mutex_state.hpp"
#include "sync/shared_state.hpp"
#include "sys/robust_mutex.hpp"

namespace mproc {

namespace {
bool check(sys::RobustMutex::Result r) {
  if (r == sys::RobustMutex::Result::owner_died) throw OwnerDied();
  return r == sys::RobustMutex::Result::acquired;
}
}  // namespace

BasicLock::BasicLock(bool recursive)
    : memory_(detail::state_memory<detail::MutexState>("mproc-lock")),
      state_(detail::construct_state<detail::MutexState>(memory_, recursive)) {}

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

namespace detail {

ExportedHandle HandleTraits<Lock>::export_of(const Lock& lock) {
  return HandleWriter(HandleKind::lock).memory(lock.memory_).finish();
}

Lock HandleTraits<Lock>::import_from(std::span<const std::byte> bytes, std::span<UniqueFd> fds) {
  HandleReader reader(bytes, fds, HandleKind::lock, "Lock");
  auto [memory, state] = import_lock_state(reader, false);
  reader.finish();
  return Lock(std::move(memory), state);
}

ExportedHandle HandleTraits<RLock>::export_of(const RLock& lock) {
  return HandleWriter(HandleKind::rlock).memory(lock.memory_).finish();
}

RLock HandleTraits<RLock>::import_from(std::span<const std::byte> bytes, std::span<UniqueFd> fds) {
  HandleReader reader(bytes, fds, HandleKind::rlock, "RLock");
  auto [memory, state] = import_lock_state(reader, true);
  reader.finish();
  return RLock(std::move(memory), state);
}

}  // namespace detail
}  // namespace mproc
