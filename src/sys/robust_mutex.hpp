// RobustMutex: a process-shared, robust pthread mutex (PTHREAD_PROCESS_SHARED |
// PTHREAD_MUTEX_ROBUST) placed in shared memory. The kernel's robust futex list marks it when its
// holder dies, so the next locker gets OwnerDied instead of a deadlock.
#pragma once

#include <pthread.h>

#include <chrono>
#include <optional>

namespace mproc::sys {

class RobustMutex {
 public:
  enum class Result { acquired, owner_died, busy };

  // Initialises a mutex in place (the object must live in MAP_SHARED memory to be shared).
  // recursive: the holder may lock again (each lock needs its unlock). Throws SystemError.
  explicit RobustMutex(bool recursive);
  RobustMutex(const RobustMutex&) = delete;
  RobustMutex& operator=(const RobustMutex&) = delete;
  // Deliberately no pthread_mutex_destroy: glibc's marks the mutex invalid, and another process
  // (a forked child, the parent) may still use it. Unmapping the memory is all the cleanup needed.
  ~RobustMutex() = default;

  // Locks, waiting until `deadline` (CLOCK_MONOTONIC, i.e. steady_clock) or forever. owner_died:
  // the previous holder died; the mutex was made consistent and the caller holds it. busy: the
  // deadline passed. Throws SystemError (ENOTRECOVERABLE, EDEADLK, ...).
  [[nodiscard]] Result lock(std::optional<std::chrono::steady_clock::time_point> deadline);
  // Never waits: busy when another thread holds it.
  [[nodiscard]] Result try_lock();
  // False when the calling thread does not hold the mutex (EPERM); nothing changed then.
  [[nodiscard]] bool unlock() noexcept;

 private:
  [[nodiscard]] Result finish(int rc, const char* call);
  pthread_mutex_t mutex_{};
};

}  // namespace mproc::sys
