#include "mproc/condition.hpp"

#include <atomic>
#include <climits>
#include <cstdint>
#include <utility>

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
    : lock_(std::move(lock)), state_(detail::make_shared_state<detail::ConditionState>()) {}

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

}  // namespace mproc
