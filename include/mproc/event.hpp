// mproc/event.hpp — Event: Python's multiprocessing.Event for C++.
//
//   mproc::Event ready;                                   // before the Process / Pool starts
//   mproc::Process p([ready]() mutable { load(); ready.set(); });
//   if (!ready.wait(2s)) { /* not set within 2 s */ }
//
// A flag in its own small sealed memfd mapping: copies are the same event, forked children
// (Process, Pool workers) inherit it, and a process it is exported to (mproc/detail/handle.hpp)
// maps it again. It is a futex sequence word, not a
// pthread_cond_t: a waiter killed inside wait() leaves nothing behind, so set() never blocks and
// other waiters are not affected.
//
// wait() returns true once set() was called after the wait began, even if clear() followed
// before the waiter ran (as Python's, whose waiters are notified). wait(timeout) takes any
// std::chrono duration on CLOCK_MONOTONIC; signals (EINTR) neither shorten nor end it.
//
// Threads: every member function may be called concurrently on the same or copied objects.
#pragma once

#include <chrono>
#include <utility>

#include "mproc/detail/timeout.hpp"
#include "mproc/shared_memory.hpp"

namespace mproc {

namespace detail {
struct EventState;  // src/sync/event.cpp
template <class T>
struct HandleTraits;  // mproc/detail/handle.hpp
}  // namespace detail

class Event {
 public:
  Event();  // not set; throws SystemError when the mapping cannot be made

  [[nodiscard]] bool is_set() const noexcept;
  // Sets the flag and wakes every waiter. Never blocks.
  void set() noexcept;
  void clear() noexcept;
  // Waits until the flag is set. Returns true (Python's wait() returns the flag).
  bool wait();
  // Waits at most timeout; true when set (or set and cleared again during the wait).
  template <class Rep, class Period>
  [[nodiscard]] bool wait(std::chrono::duration<Rep, Period> timeout) {
    return wait_for(detail::to_timeout_ns(timeout));
  }

 private:
  template <class T>
  friend struct detail::HandleTraits;
  Event(SharedMemory memory, detail::EventState* state) noexcept
      : memory_(std::move(memory)), state_(state) {}
  [[nodiscard]] bool wait_for(std::chrono::nanoseconds timeout);
  SharedMemory memory_;  // owns the mapping (and its fd) that state_ points into
  detail::EventState* state_;
};

}  // namespace mproc
