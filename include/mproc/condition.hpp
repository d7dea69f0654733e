// mproc/condition.hpp — Condition: Python's multiprocessing.Condition for C++.
//
//   mproc::Condition cv;                                  // before the Process / Pool starts
//   { std::lock_guard g(cv); shared->ready = true; }  cv.notify_all();   // (notify needs no lock)
//   { std::unique_lock g(cv); if (!cv.wait_for([&] { return shared->ready; }, 2s)) ...; }
//
// A futex sequence word in its own small sealed memfd mapping, plus the Lock it is used with (its
// own, or one passed in). Copies are the same condition; forked children (Process, Pool workers)
// inherit it, and a process it is exported to (mproc/detail/handle.hpp) maps both again. No
// pthread_cond_t: a waiter killed inside wait() leaves nothing behind, so notify() never blocks and
// the other waiters are not affected.
//
// wait() must be called with the lock held once (an RLock held recursively stays held while
// waiting, unlike Python's: the notifier could then never take it). It releases the lock, sleeps
// until notified or timed out, and takes the lock again before returning — also when it throws
// OwnerDied (the lock's holder died; the caller holds it and must repair and release it).
//
// Wake-ups: notify(n) wakes at most n sleepers, but a waiter that has released the lock and not
// yet slept also returns, so wait() may return without a notify meant for it (spurious wake-ups,
// as std::condition_variable): check the condition, or use wait_for(predicate). A waiter killed
// just after notify(1) picked it takes that notification with it; notify_all() or a timeout
// covers waiters that may die.
//
// Timeouts: any std::chrono duration on CLOCK_MONOTONIC; signals (EINTR) neither shorten nor end
// a wait. Threads: every member function may be called concurrently on the same or copied objects.
#pragma once

#include <chrono>
#include <cstdint>
#include <utility>

#include "mproc/detail/timeout.hpp"
#include "mproc/lock.hpp"
#include "mproc/shared_memory.hpp"

namespace mproc {

namespace detail {
struct ConditionState;  // src/sync/condition.cpp
template <class T>
struct HandleTraits;  // mproc/detail/handle.hpp
}  // namespace detail

class Condition {
 public:
  Condition() : Condition(Lock()) {}  // with a new Lock
  explicit Condition(Lock lock);
  explicit Condition(RLock lock);

  // The lock's operations (std::lock_guard / std::unique_lock work on the Condition).
  void acquire() { lock_.acquire(); }
  template <class Rep, class Period>
  [[nodiscard]] bool acquire(std::chrono::duration<Rep, Period> timeout) {
    return lock_.acquire(timeout);
  }
  void release() { lock_.release(); }
  void lock() { lock_.lock(); }
  void unlock() { lock_.unlock(); }
  [[nodiscard]] bool try_lock() { return lock_.try_lock(); }

  // Releases the lock, waits for a notify (or a spurious wake-up), takes the lock again.
  void wait() { (void)wait_ns(std::chrono::nanoseconds::max()); }
  // As wait(), at most timeout; false when it timed out (the lock is held again either way).
  template <class Rep, class Period>
  [[nodiscard]] bool wait(std::chrono::duration<Rep, Period> timeout) {
    return wait_ns(detail::to_timeout_ns(timeout));
  }
  // Waits until pred() is true (checked with the lock held); returns true.
  template <class Pred>
  bool wait_for(Pred pred) {
    while (!pred()) wait();
    return true;
  }
  // As wait_for(pred), at most timeout in all; returns pred()'s last value.
  template <class Pred, class Rep, class Period>
  [[nodiscard]] bool wait_for(Pred pred, std::chrono::duration<Rep, Period> timeout) {
    const auto total = detail::to_timeout_ns(timeout);
    const auto start = std::chrono::steady_clock::now();
    while (!pred()) {
      const auto spent = std::chrono::steady_clock::now() - start;
      if (total != std::chrono::nanoseconds::max() && spent >= total) return false;
      const auto left = total == std::chrono::nanoseconds::max()
                            ? total
                            : std::chrono::duration_cast<std::chrono::nanoseconds>(total - spent);
      (void)wait_ns(left);
    }
    return true;
  }

  // Wakes at most n waiters (see above). The lock need not be held. Never blocks.
  void notify(std::uint32_t n = 1) noexcept;
  void notify_all() noexcept;

 private:
  template <class T>
  friend struct detail::HandleTraits;
  Condition(BasicLock lock, int);
  Condition(BasicLock lock, SharedMemory memory, detail::ConditionState* state) noexcept
      : lock_(std::move(lock)), memory_(std::move(memory)), state_(state) {}
  [[nodiscard]] bool wait_ns(std::chrono::nanoseconds timeout);
  BasicLock lock_;
  SharedMemory memory_;  // owns the mapping (and its fd) that state_ points into
  detail::ConditionState* state_;
};

}  // namespace mproc
