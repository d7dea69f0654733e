// RobustMutex: the lock that Value<T>::get_lock() and Array<T>::get_lock() return. It lives in
// the shared memory it guards and works with std::lock_guard / std::unique_lock.
//
// Process-shared and recursive (as Python's default RLock for Value/Array: a holder may call
// load()/store() again). Robust: when a holder dies holding it, the next lock()/try_lock() throws
// mproc::OwnerDied and the thrower then holds it (adopt it to release it:
// `catch (const mproc::OwnerDied&) { std::lock_guard g(lock, std::adopt_lock); repair(); }`).
// Release it before the last copy of its Value/Array goes away: the kernel keeps a list of the
// robust locks a thread holds, and one in unmapped memory breaks that thread's later locking.
#pragma once

#include <cstddef>

namespace mproc::detail {

class RobustMutex {
 public:
  // Only ever constructed in place inside a shared mapping, before any other process sees it.
  RobustMutex();
  RobustMutex(const RobustMutex&) = delete;
  RobustMutex& operator=(const RobustMutex&) = delete;
  ~RobustMutex() = default;  // nothing to free: another process may still use it

  // Blocks until held. OwnerDied (held) when the previous holder died; SystemError otherwise.
  void lock();
  // Never blocks: false when another thread or process holds it. OwnerDied (held) as lock().
  [[nodiscard]] bool try_lock();
  // Only by the holder.
  void unlock() noexcept;

 private:
  alignas(16) unsigned char storage_[64];  // a pthread_mutex_t (asserted in the .cpp)
};

}  // namespace mproc::detail
