// Memory the pool shares with its workers, and what a worker may use of it.
#pragma once

#include "sys/unique_fd.hpp"

#include <cstddef>
#include <optional>

namespace mproc::sys {

// A MAP_SHARED read-write mapping, unmapped on destruction. Anonymous: created before a fork, it
// is the same memory in parent and child; zero-filled, pages committed when touched, nothing in
// /dev/shm, nothing to leak. Of a file (memfd, shm_open): shared with whoever maps that file.
class SharedMapping {
 public:
  SharedMapping() noexcept = default;
  explicit SharedMapping(std::size_t size);  // throws SystemError("mmap")
  // The first `size` bytes of the file behind fd (a memfd or shm_open segment), MAP_SHARED.
  SharedMapping(int fd, std::size_t size);  // throws SystemError("mmap")
  SharedMapping(SharedMapping&& o) noexcept;
  SharedMapping& operator=(SharedMapping&& o) noexcept;
  SharedMapping(const SharedMapping&) = delete;
  SharedMapping& operator=(const SharedMapping&) = delete;
  ~SharedMapping();

  [[nodiscard]] void* data() const noexcept { return data_; }
  [[nodiscard]] std::size_t size() const noexcept { return size_; }

 private:
  void* data_ = nullptr;
  std::size_t size_ = 0;
};

// The calling process's resident set size in bytes (/proc/self/statm), or nullopt.
[[nodiscard]] std::optional<std::size_t> resident_bytes() noexcept;
// Another process's (/proc/<pid>/statm: any process of this user), or nullopt (gone, refused).
[[nodiscard]] std::optional<std::size_t> resident_bytes_of(int pid) noexcept;

// The same, from /proc/self/statm opened once (by the process that measures itself): a pread per
// reading, no open — so it goes on working in a sandbox that refuses open().
class ResidentSet {
 public:
  ResidentSet() noexcept;  // an fd that failed to open reads as nullopt
  [[nodiscard]] std::optional<std::size_t> bytes() const noexcept;

 private:
  UniqueFd fd_;
};

// Caps the calling process's address space at its current size plus `extra` bytes
// (RLIMIT_AS), so an allocation past it fails with ENOMEM / std::bad_alloc. Returns false if the
// current size cannot be read or setrlimit fails; for a worker between fork and its first task.
bool limit_address_space_growth(std::size_t extra) noexcept;

}  // namespace mproc::sys
