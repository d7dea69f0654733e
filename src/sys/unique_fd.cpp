#include "sys/unique_fd.hpp"

#include <fcntl.h>
#include <unistd.h>

#include "sys/check.hpp"

namespace mproc {

void detail::UniqueFd::reset(int fd) noexcept {
  if (fd_ >= 0) ::close(fd_);  // never retried: the fd is gone even on EINTR
  fd_ = fd;
}

sys::UniqueFd sys::dup_cloexec(int fd) {
  return UniqueFd(check_unix(::fcntl(fd, F_DUPFD_CLOEXEC, 0), "fcntl(F_DUPFD_CLOEXEC)"));
}

}  // namespace mproc
