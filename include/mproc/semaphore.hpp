// mproc/semaphore.hpp — Semaphore and BoundedSemaphore: Python's multiprocessing.Semaphore /
// BoundedSemaphore for C++.
//
//   mproc::Semaphore slots(4);                            // before the Process / Pool starts
//   if (slots.acquire(1s)) { use_one_slot(); slots.release(); }
//
// A counter in its own small sealed memfd mapping (a futex word): copies are the same semaphore,
// forked children (Process, Pool workers) inherit it, and a process it is exported to
// (mproc/detail/handle.hpp) maps it again. Any thread or process may
// release. A waiter killed inside acquire() leaves nothing behind that could block the others.
// A process that dies between acquire() and release() does not give its unit back (as Python's);
// use a Lock when the holder's death must be noticed.
//
// Timeouts: acquire(timeout) takes any std::chrono duration on CLOCK_MONOTONIC; signals (EINTR)
// neither shorten nor end the wait; timeout <= 0 just tries.
//
// Threads: every member function may be called concurrently on the same or copied objects.
#pragma once

#include <chrono>
#include <cstdint>
#include <utility>

#include "mproc/detail/timeout.hpp"
#include "mproc/shared_memory.hpp"

namespace mproc {

namespace detail {
struct SemaphoreState;  // src/sync/semaphore.cpp
template <class T>
struct HandleTraits;  // mproc/detail/handle.hpp
}  // namespace detail

class Semaphore {
 public:
  // value: the initial count. Throws SystemError when the mapping cannot be made.
  explicit Semaphore(std::uint32_t value = 1);

  // Waits until the count is positive, then decrements it.
  void acquire();
  // Waits at most timeout; true when decremented.
  template <class Rep, class Period>
  [[nodiscard]] bool acquire(std::chrono::duration<Rep, Period> timeout) {
    return acquire_for(detail::to_timeout_ns(timeout));
  }
  // Decrements if positive; never waits.
  [[nodiscard]] bool try_acquire() noexcept;
  // Adds n to the count and wakes waiters. Error (count unchanged) when the count would pass its
  // bound: 2^32 - 1, or the BoundedSemaphore's initial value.
  void release(std::uint32_t n = 1);
  // The current count: a snapshot, as Python's get_value().
  [[nodiscard]] std::uint32_t get_value() const noexcept;

  // The standard names (std::lock_guard, std::counting_semaphore's try_acquire).
  void lock() { acquire(); }
  void unlock() { release(); }
  [[nodiscard]] bool try_lock() noexcept { return try_acquire(); }

 protected:
  Semaphore(std::uint32_t value, std::uint32_t bound);
  // An imported semaphore's state (mproc/detail/handle.hpp).
  Semaphore(SharedMemory memory, detail::SemaphoreState* state) noexcept
      : memory_(std::move(memory)), state_(state) {}

 private:
  template <class T>
  friend struct detail::HandleTraits;
  [[nodiscard]] bool acquire_for(std::chrono::nanoseconds timeout);
  SharedMemory memory_;  // owns the mapping (and its fd) that state_ points into
  detail::SemaphoreState* state_;
};

// A Semaphore whose release() throws mproc::Error instead of raising the count above its initial
// value (a release without a matching acquire, as Python's ValueError).
class BoundedSemaphore : public Semaphore {
 public:
  explicit BoundedSemaphore(std::uint32_t value = 1) : Semaphore(value, value) {}

 private:
  template <class T>
  friend struct detail::HandleTraits;
  BoundedSemaphore(SharedMemory memory, detail::SemaphoreState* state) noexcept
      : Semaphore(std::move(memory), state) {}
};

}  // namespace mproc
