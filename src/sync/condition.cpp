#include "mproc/condition.hpp"

#include <atomic>
#include <climits>
#include <cstdint>
#include <utility>

#include "handle/wire.hpp"
#include "mproc/detail/handle.hpp"
#include "sync/mutex_state.hpp"
#include "sync/shared_state.hpp"
#include "sys/futex.hpp"

namespace mproc {

namespace detail {
// seq: bumped by every notify; waiters sleep while it has the value they saw under the lock.
// waiters: how many may sleep (skips the syscall when none do; one killed while waiting only
// leaves it too high).
struct ConditionState {
  std::atomic<std::uint32_t> seq{0};
  std::atomic<std::uint32_t> waiters{0};
};
}  // namespace detail

Condition::Condition(Lock lock) : Condition(static_cast<BasicLock>(std::move(lock)), 0) {}
Condition::Condition(RLock lock) : Condition(static_cast<BasicLock>(std::move(lock)), 0) {}
Condition::Condition(BasicLock lock, int)
    : lock_(std::move(lock)),
      memory_(detail::state_memory<detail::ConditionState>("mproc-condition")),
      state_(detail::construct_state<detail::ConditionState>(memory_)) {}

bool Condition::wait_ns(std::chrono::nanoseconds timeout) {
  auto& s = *state_;
  const auto deadline = detail::deadline_after(timeout);
  // Read under the lock: a notify that follows a change the caller saw bumps it afterwards.
  const std::uint32_t seen = s.seq.load();
  lock_.release();  // Error when the caller does not hold it; nothing to undo then
  s.waiters.fetch_add(1);
  bool notified = false;
  for (;;) {
    if (s.seq.load() != seen) {
      notified = true;
      break;
    }
    const auto left = detail::time_left(deadline);
    if (left && left->count() == 0) break;
    try {
      sys::futex_wait(s.seq, seen, left);
    } catch (...) {
      s.waiters.fetch_sub(1);
      lock_.acquire();
      throw;
    }
  }
  s.waiters.fetch_sub(1);
  lock_.acquire();  // OwnerDied propagates with the lock held, as documented
  return notified;
}

void Condition::notify(std::uint32_t n) noexcept {
  if (n == 0) return;
  auto& s = *state_;
  s.seq.fetch_add(1);
  if (s.waiters.load() != 0) {
    sys::futex_wake(s.seq, n > static_cast<std::uint32_t>(INT_MAX) ? INT_MAX : static_cast<int>(n));
  }
}

void Condition::notify_all() noexcept {
  auto& s = *state_;
  s.seq.fetch_add(1);
  if (s.waiters.load() != 0) sys::futex_wake(s.seq, INT_MAX);
}

namespace detail {

// Two fds: the lock's state, then the condition's own. A field says whether the lock is an RLock.
ExportedHandle HandleTraits<Condition>::export_of(const Condition& c) {
  return HandleWriter(HandleKind::condition)
      .u64(c.lock_.state_->recursive ? 1 : 0)
      .memory(c.lock_.memory_)
      .memory(c.memory_)
      .finish();
}

Condition HandleTraits<Condition>::import_from(std::span<const std::byte> bytes,
                                               std::span<UniqueFd> fds) {
  HandleReader reader(bytes, fds, HandleKind::condition, "Condition");
  const std::uint64_t recursive = reader.u64();
  if (recursive > 1) reader.fail("the bytes are damaged");
  auto [lock_memory, lock_state] = import_lock_state(reader, recursive == 1);
  SharedMemory memory = reader.memory(sizeof(ConditionState));
  reader.finish();
  auto* state = imported_state<ConditionState>(memory);
  return Condition(BasicLock(std::move(lock_memory), lock_state), std::move(memory), state);
}

}  // namespace detail

}  // namespace mproc
