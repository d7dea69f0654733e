#include "mproc/detail/locked_segment.hpp"

#include <algorithm>
#include <limits>
#include <new>
#include <utility>

#include "mproc/error.hpp"

namespace mproc::detail {

namespace {
// The payload starts on its own cache line (or its alignment, if larger) after the mutex.
std::size_t payload_offset(std::size_t align) {
  const std::size_t a = std::max<std::size_t>({align, 64, sizeof(RobustMutex)});
  return (sizeof(RobustMutex) + a - 1) / a * a;
}
}  // namespace

std::size_t LockedSegment::total_size(std::size_t count, std::size_t elem_size, std::size_t align) {
  const std::size_t offset = payload_offset(align);
  const std::size_t max = std::numeric_limits<std::size_t>::max() - offset;
  if (elem_size != 0 && count > max / elem_size) {
    throw Error("shared Array: " + std::to_string(count) + " elements of " +
                std::to_string(elem_size) + " bytes do not fit in memory");
  }
  return offset + count * elem_size;
}

LockedSegment::LockedSegment(std::size_t count, std::size_t elem_size, std::size_t align)
    : shm_(SharedMemory::create(total_size(count, elem_size, align))),
      mutex_(::new (static_cast<void*>(shm_.data())) RobustMutex()),
      payload_(shm_.data() + payload_offset(align)) {}

LockedSegment::LockedSegment(SharedMemory memory, std::size_t align)
    : shm_(std::move(memory)),
      mutex_(std::launder(reinterpret_cast<RobustMutex*>(shm_.data()))),
      payload_(shm_.data() + payload_offset(align)) {}

}  // namespace mproc::detail
