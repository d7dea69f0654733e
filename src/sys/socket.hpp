// Stream sockets between related processes: a close-on-exec AF_UNIX socketpair, a send that
// writes a whole frame (gather list) without raising SIGPIPE, and a recv that reports a peer that
// closed or died as end of stream.
#pragma once

#include <cstddef>
#include <span>
#include <utility>
#include <vector>

#include "sys/unique_fd.hpp"

namespace mproc::sys {

// socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC).
[[nodiscard]] std::pair<UniqueFd, UniqueFd> stream_socketpair();

// Writes every byte of every part, in order, with sendmsg(MSG_NOSIGNAL), looping over short
// writes and EINTR. Throws SystemError("sendmsg", ...) — EPIPE when the peer is gone. On a throw
// some prefix of the bytes may have been written.
void send_all(int fd, std::span<const std::span<const std::byte>> parts);

// One recv(2) into buf (EINTR retried). wait_all: MSG_WAITALL (may still return fewer bytes, on
// a signal or at end of stream). Returns 0 at end of stream; ECONNRESET (the peer closed while
// data it had not read was queued to it) also counts as end of stream. Throws SystemError("recv").
[[nodiscard]] std::size_t recv_some(int fd, std::byte* buf, std::size_t len, bool wait_all);

// Passes open fds to the peer (SCM_RIGHTS) with one marker byte. At most kMaxPassedFds. Throws
// SystemError("sendmsg").
inline constexpr std::size_t kMaxPassedFds = 64;
void send_fds(int fd, std::span<const int> fds);

// Receives what send_fds sent: exactly `count` fds, each close-on-exec (MSG_CMSG_CLOEXEC).
// Throws SystemError("recvmsg") on failure, EPROTO when the message does not carry `count` fds
// (any that did arrive are closed).
[[nodiscard]] std::vector<UniqueFd> recv_fds(int fd, std::size_t count);

// A small record (sent whole by one sendmsg) with fds attached, and its receiving side: reads
// exactly data.size() bytes (MSG_WAITALL) and returns the fds that came with them (close-on-exec).
// recv_record returns false at end of stream. Both throw SystemError; recv_record EMFILE when
// the fds could not be installed here (no fd number free), EPROTO on a short record.
void send_record(int fd, std::span<const std::byte> data, std::span<const int> fds);
[[nodiscard]] bool recv_record(int fd, std::span<std::byte> data, std::vector<UniqueFd>& fds);

// True when fd is a socket (fstat: S_ISSOCK). SystemError("fstat") when fd is not open.
[[nodiscard]] bool is_socket(int fd);

}  // namespace mproc::sys
