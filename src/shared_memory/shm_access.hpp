// ShmAccess: what the library (not its users) does with a SharedMemory: make an anonymous one
// with a label (the state of a Lock, Event, Queue... lives in one), reach its fd to export it,
// and rebuild one from an fd that came from another process (mproc/detail/handle.hpp).
#pragma once

#include <cstddef>
#include <string>

#include "mproc/shared_memory.hpp"
#include "sys/unique_fd.hpp"

namespace mproc::detail {

struct ShmAccess {
  // A sealed anonymous memfd of `size` zero bytes, named `label` in /proc/<pid>/fd (memfd:label).
  // SystemError when the system refuses.
  [[nodiscard]] static SharedMemory anonymous(std::size_t size, const char* label);
  // The fd the segment keeps (close-on-exec; owned by the segment).
  [[nodiscard]] static int fd(const SharedMemory& memory) noexcept;
  // Maps `size` bytes of fd, which another process exported. Anonymous (name empty): fd must be
  // a memfd sealed against shrinking and growing, of exactly `size` bytes. Named: a file of
  // exactly `size` bytes. mproc::Error naming `what` and the problem otherwise.
  [[nodiscard]] static SharedMemory adopt(UniqueFd fd, std::size_t size, std::string name,
                                          const std::string& what);
};

}  // namespace mproc::detail
