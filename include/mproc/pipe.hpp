// mproc/pipe.hpp — Pipe<T>() and Connection<T>: Python's multiprocessing.Pipe for C++.
//
// Two connected ends of a socketpair; each message is a frame (16-byte header, then the payload).
//
//   auto [a, b] = mproc::Pipe<int>();               // duplex: both ends send and receive
//   if (fork() == 0) { b.send(42); _exit(0); }      // (mproc::Process does this for you)
//   int v = a.recv();                               // 42; EOFError once b is closed everywhere
//
// Messages: send(v) encodes v with mproc's codec (mproc/codec.hpp), recv() decodes it; send_bytes
// / recv_bytes move raw bytes. A message may have any size up to max_message_size (default
// 1 GiB, PipeOptions). Sending a bigger one throws mproc::Error before any byte is written, and
// the connection stays usable. Receiving a header that announces more than the receiver's
// maximum (a hostile or confused peer) throws DecodeError before allocating anything; the stream
// is then out of sync, so the connection is "broken": every later recv throws mproc::Error.
//
// Peer death: recv() on a connection whose peer end is closed in every process (closed
// explicitly, destroyed, or its process died, even by SIGKILL) throws EOFError, never hangs. A
// peer that dies in the middle of a message gives EOFError whose what() says the frame was
// truncated. send() to a peer that is gone throws SystemError ("sendmsg: Broken pipe", EPIPE);
// SIGPIPE is never raised. As with Python, a process that keeps a copy of the peer end open
// (e.g. the parent after fork, still holding the child's end) sees no EOF: close the ends you do
// not use.
//
// Fork and exec: fds are inherited by fork (both ends work in the child) and are close-on-exec;
// a connection is passed to a process that does not share our fds with mproc/detail/handle.hpp
// (SCM_RIGHTS). The exporter's end stays open too: close the copies you do not use.
//
// Threads: a Connection is not locked. One thread may send while another receives on the same
// duplex connection; two threads must not send (or receive) on one connection at the same time,
// and close(), move and destruction must not overlap any other call (as with Python).
//
// Timeouts: poll() looks without waiting; poll(d) waits at most d (a duration that converts to
// std::chrono::nanoseconds implicitly: 5ms, 2s, ...; d <= 0 looks); poll(std::nullopt) waits
// forever. Signals (EINTR) neither end nor shorten a wait.
//
// Cost: a small message is one sendmsg(2) to send and at most one recv(2) to receive (several
// queued small messages arrive with one recv), with no allocation once the connection is warm.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <span>
#include <type_traits>
#include <utility>
#include <vector>

#include "mproc/codec.hpp"
#include "mproc/detail/connection_core.hpp"
#include "mproc/error.hpp"

namespace mproc {

inline constexpr std::size_t kDefaultMaxMessageSize = std::size_t{1} << 30;  // 1 GiB

struct PipeOptions {
  bool duplex = true;  // false: the first end only receives, the second only sends
  std::size_t max_message_size = kDefaultMaxMessageSize;  // per message payload, both directions
};

namespace detail {
template <class T>
struct HandleTraits;  // mproc/detail/handle.hpp
}  // namespace detail

template <class T = std::vector<std::byte>>
class Connection {
  // A non-transferable T fails here, naming the innermost offending type (see codec.hpp).
  static_assert(detail::assert_transferable<T>());

 public:
  // A closed connection (what a moved-from one is too).
  Connection() noexcept = default;
  // Internal plumbing (Pipe, start methods passing a connection to a child): wraps an open core.
  explicit Connection(detail::ConnectionCore core) noexcept : core_(std::move(core)) {}
  Connection(Connection&&) noexcept = default;
  Connection& operator=(Connection&&) noexcept = default;
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  ~Connection() = default;  // closes

  // Sends one message holding value. Throws Error if it encodes to more than max_message_size
  // bytes (nothing sent), or if the connection is closed or read-only.
  void send(const T& value) {
    const std::size_t size = encoded_size(value);
    core_.check_send_size(size);  // refuse before encoding a too-big value, let alone sending it
    send_buf_.resize(size);
    encode_into(std::span<std::byte>(send_buf_), value);
    try {
      core_.send_bytes(send_buf_);
    } catch (...) {
      release_big_send_buffer();
      throw;
    }
    release_big_send_buffer();
  }

  // Receives one message and decodes it as T. Blocks until one arrives. Throws EOFError when the
  // peer is gone, DecodeError when the bytes are not a T (the connection stays usable: the frame
  // was consumed whole) or the frame is over max_message_size (the connection is then broken).
  [[nodiscard]] T recv() { return decode<T>(core_.recv_view()); }

  // Sends bytes as one message (same limits as send).
  void send_bytes(std::span<const std::byte> bytes) { core_.send_bytes(bytes); }
  // Receives one message's bytes, whatever T is.
  [[nodiscard]] std::vector<std::byte> recv_bytes() {
    std::vector<std::byte> out;
    core_.recv_into(out);
    return out;
  }
  // Receives one message's bytes into out (reusing its capacity); returns the message size.
  std::size_t recv_bytes_into(std::vector<std::byte>& out) { return core_.recv_into(out); }

  // True when a recv() will not block: a message (or part of one) is available, the peer is gone
  // (recv() throws EOFError), or the connection is broken. poll() does not wait.
  [[nodiscard]] bool poll() { return core_.poll(std::chrono::nanoseconds::zero()); }
  [[nodiscard]] bool poll(std::optional<std::chrono::nanoseconds> timeout) {
    return core_.poll(timeout);
  }

  // Closes this end (idempotent); later send/recv/poll/fileno throw Error. The destructor closes.
  void close() noexcept {
    core_.close();
    send_buf_ = std::vector<std::byte>();  // not "= {}": that keeps the capacity
  }
  [[nodiscard]] bool closed() const noexcept { return core_.closed(); }
  // The socket's fd, for mproc::wait and poll/epoll (do not read it yourself: a Connection
  // buffers). Throws Error when closed.
  [[nodiscard]] int fileno() const { return core_.fileno(); }
  // True when bytes already received sit in this connection's buffer (so fileno() may not poll
  // readable although recv() would not block), or it is broken. Used by mproc::wait.
  [[nodiscard]] bool has_buffered_data() const noexcept { return core_.has_buffered_data(); }
  [[nodiscard]] bool readable() const noexcept { return core_.readable(); }
  [[nodiscard]] bool writable() const noexcept { return core_.writable(); }
  [[nodiscard]] std::size_t max_message_size() const noexcept { return core_.max_message_size(); }

 private:
  template <class U>
  friend struct detail::HandleTraits;

  // One small reused buffer: sending a small value allocates nothing after the first send.
  void release_big_send_buffer() noexcept {
    // (not "send_buf_ = {}": that would keep the capacity)
    if (send_buf_.capacity() > detail::ConnectionCore::kBufferSize) {
      send_buf_ = std::vector<std::byte>();
    }
  }

  detail::ConnectionCore core_;
  std::vector<std::byte> send_buf_;
};

// Two connected ends: {a, b}. duplex: both send and receive; otherwise a receives, b sends.
template <class T = std::vector<std::byte>>
[[nodiscard]] std::pair<Connection<T>, Connection<T>> Pipe(PipeOptions options) {
  auto [a, b] = detail::ConnectionCore::make_pair(options.duplex, options.max_message_size);
  return {Connection<T>(std::move(a)), Connection<T>(std::move(b))};
}

template <class T = std::vector<std::byte>>
[[nodiscard]] std::pair<Connection<T>, Connection<T>> Pipe(bool duplex = true) {
  return Pipe<T>(PipeOptions{.duplex = duplex});
}

}  // namespace mproc
