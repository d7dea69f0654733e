// UniqueFd: a move-only owner of a file descriptor, the one fd owner of the library (src/sys
// uses it as sys::UniqueFd). In a public detail header because handles passed to another process
// arrive as fds (mproc/detail/handle.hpp). close() is never retried (Linux frees the fd even when
// close fails with EINTR), and the destructor never throws.
#pragma once

#include <utility>

namespace mproc::detail {

class UniqueFd {
 public:
  UniqueFd() noexcept = default;
  explicit UniqueFd(int fd) noexcept : fd_(fd) {}
  UniqueFd(UniqueFd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& o) noexcept {
    if (this != &o) reset(std::exchange(o.fd_, -1));
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() { reset(); }

  [[nodiscard]] int get() const noexcept { return fd_; }
  [[nodiscard]] bool valid() const noexcept { return fd_ >= 0; }
  explicit operator bool() const noexcept { return valid(); }
  [[nodiscard]] int release() noexcept { return std::exchange(fd_, -1); }
  void reset(int fd = -1) noexcept;  // closes the fd held, if any (src/sys/unique_fd.cpp)

 private:
  int fd_ = -1;
};

}  // namespace mproc::detail
