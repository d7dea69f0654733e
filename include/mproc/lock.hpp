// mproc/lock.hpp — Lock and RLock: Python's multiprocessing.Lock / RLock for C++, robust.
//
//   mproc::Lock lock;                                     // before the Process / Pool starts
//   mproc::Process p([lock]() mutable { std::lock_guard g(lock); ++shared->n; });
//   if (lock.acquire(100ms)) { ...; lock.release(); }     // false: still held after 100 ms
//
// The state lives in its own small sealed memfd (MAP_SHARED) made by the constructor. Copies of a
// Lock are the same lock (shared ownership; a moved-from Lock is a copy); a forked child (Process,
// Pool worker) inherits it, and another process it is exported to (mproc/detail/handle.hpp: how
// spawn children get it) maps the same lock.
//
// Holder death: if the holder (a process or a thread) dies holding the lock, the next acquirer's
// acquire()/lock()/try_lock() throws mproc::OwnerDied, and that caller then HOLDS the lock: it may
// repair the data the lock guards, then must release() it. Never a deadlock. With
// std::lock_guard, the guard is not constructed when lock() throws, so catch OwnerDied and release
// (or adopt with std::lock_guard(lock, std::adopt_lock)).
//
// Unlike Python's Lock, release() must come from the thread that acquired (std::mutex rules);
// release() by another thread or process throws mproc::Error and changes nothing. Lock is not
// recursive: acquiring it again from its holder deadlocks (or times out); use RLock.
//
// Timeouts: acquire(timeout) takes any std::chrono duration, measured on CLOCK_MONOTONIC;
// signals (EINTR) neither shorten nor end the wait. timeout <= 0 just tries.
//
// Threads: every member function may be called concurrently on the same or copied objects,
// except assignment and destruction of the one object being called.
#pragma once

#include <chrono>
#include <utility>

#include "mproc/detail/timeout.hpp"
#include "mproc/shared_memory.hpp"

namespace mproc {

namespace detail {
struct MutexState;  // src/sync/lock.cpp
template <class T>
struct HandleTraits;  // mproc/detail/handle.hpp
}  // namespace detail

// Shared code of Lock and RLock; use those.
class BasicLock {
 public:
  // Waits until the lock is free and takes it. OwnerDied: taken from a dead holder.
  void acquire();
  // Waits at most timeout; true when acquired. OwnerDied: taken from a dead holder.
  template <class Rep, class Period>
  [[nodiscard]] bool acquire(std::chrono::duration<Rep, Period> timeout) {
    return acquire_for(detail::to_timeout_ns(timeout));
  }
  // Releases the lock. Error when the calling thread does not hold it.
  void release();

  // The standard Lockable names (std::lock_guard, std::unique_lock, std::scoped_lock).
  void lock() { acquire(); }
  void unlock() { release(); }
  // Takes the lock if it is free; never waits. OwnerDied: taken from a dead holder.
  [[nodiscard]] bool try_lock();

 protected:
  explicit BasicLock(bool recursive);
  // An imported lock's state (mproc/detail/handle.hpp).
  BasicLock(SharedMemory memory, detail::MutexState* state) noexcept
      : memory_(std::move(memory)), state_(state) {}

 private:
  template <class T>
  friend struct detail::HandleTraits;
  [[nodiscard]] bool acquire_for(std::chrono::nanoseconds timeout);
  SharedMemory memory_;  // owns the mapping (and its fd) that state_ points into
  detail::MutexState* state_;
};

// A process-shared, non-recursive lock.
class Lock : public BasicLock {
 public:
  Lock() : BasicLock(false) {}  // throws SystemError when the mapping cannot be made

 private:
  template <class T>
  friend struct detail::HandleTraits;
  Lock(SharedMemory memory, detail::MutexState* state) noexcept
      : BasicLock(std::move(memory), state) {}
};

// A process-shared, recursive lock: its holder may acquire it again; each acquire needs a release.
class RLock : public BasicLock {
 public:
  RLock() : BasicLock(true) {}

 private:
  template <class T>
  friend struct detail::HandleTraits;
  RLock(SharedMemory memory, detail::MutexState* state) noexcept
      : BasicLock(std::move(memory), state) {}
};

}  // namespace mproc
