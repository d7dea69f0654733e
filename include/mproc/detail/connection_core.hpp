// mproc/detail/connection_core.hpp — the non-template engine under Connection<T>: one end of a
// framed byte stream over an AF_UNIX socket. Every syscall lives in src/pipe/connection_core.cpp.
//
// Wire format, per message: a 16-byte header — u32 magic "mpP1" (little-endian 0x3150706d),
// u32 flags (0), u64 payload length (little-endian) — then the payload.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace mproc::detail {

class ConnectionCore {
 public:
  static constexpr std::size_t kHeaderSize = 16;
  static constexpr std::uint32_t kMagic = 0x3150706d;  // "mpP1"
  // Receive buffer: a message whose frame fits costs one recv(2) (or less: several small frames
  // arrive in one recv). Bigger payloads are read straight into their destination.
  static constexpr std::size_t kBufferSize = 64 * 1024;

  ConnectionCore() noexcept = default;  // a closed connection
  // Takes ownership of fd (an AF_UNIX stream socket).
  ConnectionCore(int fd, bool readable, bool writable, std::size_t max_message_size) noexcept;
  ConnectionCore(ConnectionCore&& o) noexcept;
  ConnectionCore& operator=(ConnectionCore&& o) noexcept;
  ConnectionCore(const ConnectionCore&) = delete;
  ConnectionCore& operator=(const ConnectionCore&) = delete;
  ~ConnectionCore() { close(); }

  // Two connected ends; with duplex == false the first only receives and the second only sends.
  [[nodiscard]] static std::pair<ConnectionCore, ConnectionCore> make_pair(
      bool duplex, std::size_t max_message_size);

  // Sends payload as one frame: one sendmsg(2) of header + payload unless the socket is full.
  void send_bytes(std::span<const std::byte> payload);
  // Throws what send_bytes would for a message of size bytes (closed, read-only, broken, too
  // big), without sending anything.
  void check_send_size(std::size_t size) const;
  // The next message's payload, valid until the next receive or close on this connection.
  [[nodiscard]] std::span<const std::byte> recv_view();
  // Replaces out's contents with the next message's payload; returns its size.
  std::size_t recv_into(std::vector<std::byte>& out);

  [[nodiscard]] bool poll(std::optional<std::chrono::nanoseconds> timeout);
  [[nodiscard]] bool has_buffered_data() const noexcept { return end_ > begin_ || recv_broken_; }

  void close() noexcept;
  [[nodiscard]] bool closed() const noexcept { return fd_ < 0; }
  [[nodiscard]] int fileno() const;
  [[nodiscard]] bool readable() const noexcept { return readable_; }
  [[nodiscard]] bool writable() const noexcept { return writable_; }
  [[nodiscard]] std::size_t max_message_size() const noexcept { return max_; }
  // An earlier send failed part-way through a frame: the peer's stream is out of sync.
  [[nodiscard]] bool send_broken() const noexcept { return send_broken_; }

 private:
  void check_can_recv() const;
  std::uint64_t peek_frame_length();  // buffers and validates the next header, consumes nothing
  void fill(std::size_t need, std::uint64_t frame_size);
  void read_exact(std::byte* dest, std::size_t n, std::uint64_t frame_size, std::size_t done);
  // A frame larger than the buffer: what is buffered, then the rest straight into out.
  void read_big_frame(std::vector<std::byte>& out, std::uint64_t len);
  [[noreturn]] void fail_stream(std::string why);

  int fd_ = -1;
  bool readable_ = false;
  bool writable_ = false;
  std::size_t max_ = 0;
  // Receive side (touched only by the receiving thread).
  bool recv_broken_ = false;
  std::string broken_reason_;
  std::unique_ptr<std::byte[]> buf_;
  std::size_t begin_ = 0;  // unread bytes are buf_[begin_, end_)
  std::size_t end_ = 0;
  std::vector<std::byte> big_;  // recv_view() of a frame larger than the buffer
  // Send side (touched only by the sending thread).
  bool send_broken_ = false;
};

}  // namespace mproc::detail
