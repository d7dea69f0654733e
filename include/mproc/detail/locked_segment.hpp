// LockedSegment: the shared memory (an anonymous SharedMemory: a sealed memfd) behind a Value<T>
// or an Array<T> — a RobustMutex followed by `count` elements of `elem_size` bytes, zero-filled.
// Copies share the mapping.
#pragma once

#include <cstddef>

#include "mproc/detail/robust_mutex.hpp"
#include "mproc/shared_memory.hpp"

namespace mproc::detail {

class LockedSegment {
 public:
  // Error when count * elem_size overflows; SystemError when the system refuses.
  LockedSegment(std::size_t count, std::size_t elem_size, std::size_t align);
  // A segment another process made (mproc/detail/handle.hpp): its mutex and payload are live.
  // `memory` must be total_size(...) bytes for the same layout (the importer checks).
  LockedSegment(SharedMemory memory, std::size_t align);

  // The bytes a segment of this layout takes. Error when they overflow.
  [[nodiscard]] static std::size_t total_size(std::size_t count, std::size_t elem_size,
                                              std::size_t align);

  [[nodiscard]] RobustMutex& mutex() const noexcept { return *mutex_; }
  [[nodiscard]] void* payload() const noexcept { return payload_; }
  [[nodiscard]] const SharedMemory& memory() const noexcept { return shm_; }

 private:
  SharedMemory shm_;
  RobustMutex* mutex_;
  void* payload_;
};

}  // namespace mproc::detail
