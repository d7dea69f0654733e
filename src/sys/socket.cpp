#include "sys/socket.hpp"

#include <sys/socket.h>
#include <sys/uio.h>

#include <algorithm>
#include <cerrno>
#include <climits>

#include "sys/check.hpp"

namespace mproc::sys {

std::pair<UniqueFd, UniqueFd> stream_socketpair() {
  int fds[2];
  check_unix(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), "socketpair");
  return {UniqueFd(fds[0]), UniqueFd(fds[1])};
}

void send_all(int fd, std::span<const std::span<const std::byte>> parts) {
  constexpr std::size_t kMaxParts = 8;
  iovec iov[kMaxParts];
  std::size_t n = 0;
  for (auto part : parts) {
    if (part.empty()) continue;
    if (n == kMaxParts) detail::throw_errno("sendmsg", EINVAL);
    iov[n++] = iovec{const_cast<std::byte*>(part.data()), part.size()};
  }
  std::size_t first = 0;
  while (first < n) {
    msghdr msg{};
    msg.msg_iov = iov + first;
    msg.msg_iovlen = n - first;
    auto sent = static_cast<std::size_t>(
        call_unix("sendmsg", [&] { return ::sendmsg(fd, &msg, MSG_NOSIGNAL); }));
    while (first < n && sent >= iov[first].iov_len) sent -= iov[first++].iov_len;
    if (first < n) {
      iov[first].iov_base = static_cast<std::byte*>(iov[first].iov_base) + sent;
      iov[first].iov_len -= sent;
    }
  }
}

std::size_t recv_some(int fd, std::byte* buf, std::size_t len, bool wait_all) {
  const int flags = wait_all ? MSG_WAITALL : 0;
  ssize_t r = retry_eintr([&] { return ::recv(fd, buf, len, flags); });
  if (r < 0) {
    if (errno == ECONNRESET) return 0;
    detail::throw_errno("recv");
  }
  return static_cast<std::size_t>(r);
}

}  // namespace mproc::sys
