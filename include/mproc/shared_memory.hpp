// mproc/shared_memory.hpp — SharedMemory: bytes shared between processes (Python's
// multiprocessing.shared_memory.SharedMemory).
//
//   auto shm = mproc::SharedMemory::create(1 << 20);   // anonymous; a forked child shares it
//   auto seg = mproc::SharedMemory::create(4096, "/frames");  // named: attach("/frames") elsewhere
//   std::span<std::byte> b = seg.bytes();  ...  seg.unlink();
//
// Anonymous segments (memfd) vanish with their last user: nothing can leak. Their size is sealed
// (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL; never executable where the kernel has
// MFD_NOEXEC_SEAL), so no holder of the fd can truncate them under another's mapping.
// Named segments live in /dev/shm with owner-only permissions (0600 whatever the umask) and
// persist until unlink() — no destructor unlinks (as in Python), so call unlink() exactly once,
// from any process, when the name is no longer needed; processes that already attached keep
// their memory. Their full size is reserved at create() (posix_fallocate), so a full /dev/shm is
// an Error there, never a SIGBUS later.
//
// Copies of a SharedMemory share one mapping (and one fd); the mapping is released with the last
// copy. Moving copies (a moved-from SharedMemory stays valid).
// Across threads: the handle is as safe as a std::shared_ptr; the bytes are raw memory — guard
// concurrent writers yourself (e.g. with a Value/Array lock or atomics).
// Across fork: a child (Process, Pool worker) sees the same memory at the same address.
// Across exec (spawn): the segment's fd is passed along (mproc/detail/handle.hpp); the other
// process maps the same memory, at another address.
// Peer death: the memory stays valid for every other user.
#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <string_view>

namespace mproc {

namespace detail {
struct ShmSegment;  // defined in src/shared_memory/shared_memory.cpp
struct ShmAccess;   // src/shared_memory/shm_access.hpp
template <class T>
struct HandleTraits;  // mproc/detail/handle.hpp
}  // namespace detail

class SharedMemory {
 public:
  // An anonymous segment of `size` zero bytes (memfd_create). Error when size is 0;
  // SystemError when the system refuses.
  [[nodiscard]] static SharedMemory create(std::size_t size);

  // A named segment of `size` zero bytes, created with mode 0600. `name` is "name" or "/name"
  // (one path component, at most 255 characters). Error when size is 0 or the name is invalid;
  // SystemError with code EEXIST when the name exists, ENOSPC when /dev/shm cannot hold it (no
  // entry is left behind then); the message names the segment.
  [[nodiscard]] static SharedMemory create(std::size_t size, std::string_view name);

  // Maps an existing named segment, whole. SystemError with code ENOENT naming it when missing.
  [[nodiscard]] static SharedMemory attach(std::string_view name);

  SharedMemory(const SharedMemory&) = default;
  SharedMemory& operator=(const SharedMemory&) = default;
  ~SharedMemory() = default;

  [[nodiscard]] std::span<std::byte> bytes() const noexcept { return {data_, size_}; }
  [[nodiscard]] std::byte* data() const noexcept { return data_; }
  [[nodiscard]] std::size_t size() const noexcept { return size_; }

  // The name as given to create/attach; empty for an anonymous segment.
  [[nodiscard]] const std::string& name() const noexcept;
  [[nodiscard]] bool is_named() const noexcept { return !name().empty(); }

  // Removes the name from /dev/shm; the memory stays mapped for every current user. Does nothing
  // for an anonymous segment. SystemError (ENOENT) when the name is already gone.
  void unlink() const;

 private:
  friend struct detail::ShmAccess;
  explicit SharedMemory(std::shared_ptr<const detail::ShmSegment> segment) noexcept;

  std::shared_ptr<const detail::ShmSegment> segment_;
  std::byte* data_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace mproc
