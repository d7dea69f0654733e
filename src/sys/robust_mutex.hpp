// A process-shared, robust, recursive pthread mutex in caller-provided storage (shared memory).
// The only place mproc calls pthread_mutex_*.
#pragma once

#include <cstddef>

namespace mproc::sys {

inline constexpr std::size_t kRobustMutexSize = 64;
inline constexpr std::size_t kRobustMutexAlign = 16;

// Initialises a mutex in `storage` (kRobustMutexSize bytes, kRobustMutexAlign-aligned):
// PTHREAD_PROCESS_SHARED, PTHREAD_MUTEX_ROBUST, PTHREAD_MUTEX_RECURSIVE.
void robust_mutex_init(void* storage);

enum class LockResult { acquired, owner_died, busy };

// Blocks until held. owner_died: the previous holder died holding it; it has been made
// consistent and the caller holds it. Other failures throw SystemError("pthread_mutex_lock").
[[nodiscard]] LockResult robust_mutex_lock(void* storage);
// As robust_mutex_lock but never blocks: busy when another thread or process holds it.
[[nodiscard]] LockResult robust_mutex_try_lock(void* storage);
void robust_mutex_unlock(void* storage) noexcept;

}  // namespace mproc::sys
