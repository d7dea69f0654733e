// The state of a synchronization object: one small sealed memfd mapping (a SharedMemory, so the
// object keeps its fd) made at construction, shared by the object's copies, by forked children
// (inherited) and by processes it is exported to (mproc/detail/handle.hpp).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <new>
#include <optional>
#include <type_traits>
#include <utility>

#include "handle/wire.hpp"
#include "mproc/detail/timeout.hpp"
#include "mproc/shared_memory.hpp"
#include "shared_memory/shm_access.hpp"

namespace mproc::detail {

// Room for one T, in a new sealed memfd labelled `label`. SystemError when the system refuses.
template <class T>
[[nodiscard]] SharedMemory state_memory(const char* label) {
  static_assert(std::is_standard_layout_v<T>);
  return ShmAccess::anonymous(sizeof(T), label);
}

// Constructs T in memory made by state_memory<T>.
// No ~T() ever runs: another process may still use the state; unmapping is the only cleanup.
template <class T, class... Args>
[[nodiscard]] T* construct_state(const SharedMemory& memory, Args&&... args) {
  return ::new (static_cast<void*>(memory.data())) T(std::forward<Args>(args)...);
}

// The live T in memory another process exported (HandleReader::memory(sizeof(T)) checked it).
template <class T>
[[nodiscard]] T* imported_state(const SharedMemory& memory) noexcept {
  return std::launder(reinterpret_cast<T*>(memory.data()));
}

// The memory and live state of an object whose whole export is its state's memfd (Event,
// Semaphore, Barrier): the reader's one fd, checked to hold a T, and nothing after it.
template <class T>
[[nodiscard]] std::pair<SharedMemory, T*> import_sole_state(HandleReader& reader) {
  SharedMemory memory = reader.memory(sizeof(T));
  reader.finish();
  T* state = imported_state<T>(memory);
  return {std::move(memory), state};
}

// Counts the caller among `waiters` for its lifetime (so wakers skip the syscall when no one
// sleeps).
class WaiterCount {
 public:
  explicit WaiterCount(std::atomic<std::uint32_t>& waiters) : waiters_(waiters) {
    waiters_.fetch_add(1);
  }
  ~WaiterCount() { waiters_.fetch_sub(1); }
  WaiterCount(const WaiterCount&) = delete;
  WaiterCount& operator=(const WaiterCount&) = delete;

 private:
  std::atomic<std::uint32_t>& waiters_;
};

}  // namespace mproc::detail
