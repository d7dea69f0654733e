// mproc/barrier.hpp — Barrier: Python's multiprocessing.Barrier for C++.
//
//   mproc::Barrier start(3);                              // before the Processes start
//   auto body = [start]() mutable { setup(); start.wait(10s); run(); };   // all 3 run together
//   // a party that does not arrive within 10 s breaks it: every waiter gets BrokenBarrierError
//
// State (a robust lock, a futex generation word) in its own small sealed memfd mapping: copies
// are the same barrier; forked children (Process, Pool workers) inherit it, and a process it is
// exported to (mproc/detail/handle.hpp) maps it again.
//
// wait() returns the caller's arrival index, 0 .. parties-1, once `parties` callers arrived.
// wait(timeout): on timeout the barrier breaks (as Python's): this and every other waiter, and
// every later wait(), throw BrokenBarrierError until reset(). abort() breaks it at once.
// reset() empties it: current waiters throw BrokenBarrierError, later waits start afresh.
//
// Peer death: a party killed while waiting has arrived and counts; a party that dies before it
// arrives cannot be told from a slow one, so use wait(timeout) when parties may die. A process
// killed inside the barrier's short critical section breaks the barrier (never a deadlock).
//
// Timeouts: any std::chrono duration on CLOCK_MONOTONIC; signals (EINTR) neither shorten nor end
// a wait. Threads: every member function may be called concurrently on the same or copied objects.
#pragma once

#include <chrono>
#include <cstdint>
#include <utility>

#include "mproc/detail/timeout.hpp"
#include "mproc/error.hpp"
#include "mproc/shared_memory.hpp"

namespace mproc {

// wait() on a broken barrier (aborted, reset while waiting, or a wait timed out).
class BrokenBarrierError : public Error {
 public:
  BrokenBarrierError() : Error("the barrier is broken (aborted, reset, or a wait timed out)") {}
  using Error::Error;
};

namespace detail {
struct BarrierState;  // src/sync/barrier.cpp
template <class T>
struct HandleTraits;  // mproc/detail/handle.hpp
}  // namespace detail

class Barrier {
 public:
  // parties >= 1 (Error otherwise); SystemError when the mapping cannot be made.
  explicit Barrier(std::uint32_t parties);

  std::uint32_t wait() { return wait_ns(std::chrono::nanoseconds::max()); }
  template <class Rep, class Period>
  std::uint32_t wait(std::chrono::duration<Rep, Period> timeout) {
    return wait_ns(detail::to_timeout_ns(timeout));
  }
  void abort();
  void reset();

  [[nodiscard]] std::uint32_t parties() const noexcept;
  [[nodiscard]] std::uint32_t n_waiting() const noexcept;  // a snapshot
  [[nodiscard]] bool broken() const noexcept;

 private:
  template <class T>
  friend struct detail::HandleTraits;
  Barrier(SharedMemory memory, detail::BarrierState* state) noexcept
      : memory_(std::move(memory)), state_(state) {}
  std::uint32_t wait_ns(std::chrono::nanoseconds timeout);
  SharedMemory memory_;  // owns the mapping (and its fd) that state_ points into
  detail::BarrierState* state_;
};

}  // namespace mproc
