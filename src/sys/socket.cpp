#include "sys/socket.hpp"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>

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

void send_record(int fd, std::span<const std::byte> data, std::span<const int> fds) {
  if (fds.size() > kMaxPassedFds) detail::throw_errno("sendmsg(record)", EINVAL);
  iovec iov{const_cast<std::byte*>(data.data()), data.size()};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * kMaxPassedFds)]{};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  if (!fds.empty()) {
    msg.msg_control = control;
    msg.msg_controllen = CMSG_SPACE(sizeof(int) * fds.size());
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
    std::memcpy(CMSG_DATA(c), fds.data(), sizeof(int) * fds.size());
  }
  const auto sent = call_unix("sendmsg(record)", [&] { return ::sendmsg(fd, &msg, MSG_NOSIGNAL); });
  if (static_cast<std::size_t>(sent) != data.size()) detail::throw_errno("sendmsg(record)", EPROTO);
}

bool recv_record(int fd, std::span<std::byte> data, std::vector<UniqueFd>& fds) {
  iovec iov{data.data(), data.size()};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * kMaxPassedFds)]{};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  const ssize_t n = call_unix("recvmsg(record)",
                              [&] { return ::recvmsg(fd, &msg, MSG_CMSG_CLOEXEC | MSG_WAITALL); });
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    const std::size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (std::size_t i = 0; i < k; ++i) {
      int v;
      std::memcpy(&v, CMSG_DATA(c) + i * sizeof(int), sizeof v);
      fds.emplace_back(v);
    }
  }
  if (n == 0) return false;
  // The control buffer holds kMaxPassedFds, more than send_record sends: a truncation means the
  // kernel could not install the fds here, for want of fd numbers (RLIMIT_NOFILE).
  if ((msg.msg_flags & MSG_CTRUNC) != 0) detail::throw_errno("recvmsg(record)", EMFILE);
  if (static_cast<std::size_t>(n) != data.size()) detail::throw_errno("recvmsg(record)", EPROTO);
  return true;
}

bool is_socket(int fd) {
  struct stat st {};
  check_unix(::fstat(fd, &st), "fstat");
  return S_ISSOCK(st.st_mode);
}

void send_fds(int fd, std::span<const int> fds) {
  const std::byte marker{'F'};
  send_record(fd, std::span(&marker, 1), fds);
}

std::vector<UniqueFd> recv_fds(int fd, std::size_t count) {
  if (count > kMaxPassedFds) detail::throw_errno("recvmsg(SCM_RIGHTS)", EINVAL);
  std::byte marker{};
  std::vector<UniqueFd> out;
  if (!recv_record(fd, std::span(&marker, 1), out) || out.size() != count) {
    detail::throw_errno("recvmsg(SCM_RIGHTS)", EPROTO);  // `out` closes what did arrive
  }
  return out;
}

}  // namespace mproc::sys
