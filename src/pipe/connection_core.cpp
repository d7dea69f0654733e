#include "mproc/detail/connection_core.hpp"

#include <algorithm>
#include <array>
#include <cstring>
#include <string>

#include "mproc/error.hpp"
#include "sys/poll.hpp"
#include "sys/socket.hpp"
#include "sys/unique_fd.hpp"

namespace mproc::detail {

namespace {

static_assert(ConnectionCore::kBufferSize > ConnectionCore::kHeaderSize);

void put_le(std::byte* p, std::uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) p[i] = static_cast<std::byte>(v >> (8 * i));
}

std::uint64_t get_le(const std::byte* p, int bytes) {
  std::uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v |= std::to_integer<std::uint64_t>(p[i]) << (8 * i);
  return v;
}

std::string hex(std::uint32_t v) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string s = "0x00000000";
  for (int i = 0; i < 8; ++i) s[9 - i] = kDigits[(v >> (4 * i)) & 0xf];
  return s;
}

[[noreturn]] void throw_truncated(std::uint64_t frame_size, std::size_t got) {
  throw EOFError(
      "EOF: the peer closed the connection in the middle of a message (truncated "
      "frame: got " +
      std::to_string(got) + " of " + std::to_string(frame_size) + " bytes)");
}

}  // namespace

ConnectionCore::ConnectionCore(int fd, bool readable, bool writable,
                               std::size_t max_message_size) noexcept
    : fd_(fd), readable_(readable), writable_(writable), max_(max_message_size) {}

ConnectionCore::ConnectionCore(ConnectionCore&& o) noexcept
    : fd_(std::exchange(o.fd_, -1)),
      readable_(std::exchange(o.readable_, false)),
      writable_(std::exchange(o.writable_, false)),
      max_(o.max_),
      recv_broken_(std::exchange(o.recv_broken_, false)),
      broken_reason_(std::move(o.broken_reason_)),
      buf_(std::move(o.buf_)),
      begin_(std::exchange(o.begin_, 0)),
      end_(std::exchange(o.end_, 0)),
      big_(std::move(o.big_)),
      send_broken_(std::exchange(o.send_broken_, false)) {}

ConnectionCore& ConnectionCore::operator=(ConnectionCore&& o) noexcept {
  if (this != &o) {
    close();
    fd_ = std::exchange(o.fd_, -1);
    readable_ = std::exchange(o.readable_, false);
    writable_ = std::exchange(o.writable_, false);
    max_ = o.max_;
    recv_broken_ = std::exchange(o.recv_broken_, false);
    broken_reason_ = std::move(o.broken_reason_);
    buf_ = std::move(o.buf_);
    begin_ = std::exchange(o.begin_, 0);
    end_ = std::exchange(o.end_, 0);
    big_ = std::move(o.big_);
    send_broken_ = std::exchange(o.send_broken_, false);
  }
  return *this;
}

std::pair<ConnectionCore, ConnectionCore> ConnectionCore::make_pair(bool duplex,
                                                                    std::size_t max_message_size) {
  auto [a, b] = sys::stream_socketpair();
  // Python's Pipe(duplex=False) returns (receive end, send end); the direction is enforced here.
  return {ConnectionCore(a.release(), true, duplex, max_message_size),
          ConnectionCore(b.release(), duplex, true, max_message_size)};
}

void ConnectionCore::close() noexcept {
  if (fd_ >= 0) sys::UniqueFd(std::exchange(fd_, -1)).reset();
  buf_.reset();
  begin_ = end_ = 0;
  big_ = std::vector<std::byte>();  // not "= {}": that keeps the capacity
}

int ConnectionCore::fileno() const {
  if (fd_ < 0) throw Error("fileno: the connection is closed");
  return fd_;
}

void ConnectionCore::check_send_size(std::size_t size) const {
  if (fd_ < 0) throw Error("send: the connection is closed");
  if (!writable_) throw Error("send: the connection is read-only (Pipe(duplex=false) receive end)");
  if (send_broken_) {
    throw Error(
        "send: the connection is broken (an earlier send failed part-way through a "
        "message); close it");
  }
  if (size > max_) {
    throw Error("send: message of " + std::to_string(size) + " bytes exceeds max_message_size " +
                std::to_string(max_) + "; nothing was sent and the connection is still usable");
  }
}

void ConnectionCore::send_bytes(std::span<const std::byte> payload) {
  const std::size_t size = payload.size();
  check_send_size(size);
  std::array<std::byte, kHeaderSize> header{};
  put_le(header.data(), kMagic, 4);
  put_le(header.data() + 8, size, 8);
  const std::span<const std::byte> parts[] = {header, payload};
  try {
    sys::send_all(fd_, parts);
  } catch (...) {
    // Some of the frame may be out; another message after it would be misread by the peer.
    send_broken_ = true;
    throw;
  }
}

void ConnectionCore::check_can_recv() const {
  if (fd_ < 0) throw Error("recv: the connection is closed");
  if (!readable_) throw Error("recv: the connection is write-only (Pipe(duplex=false) send end)");
  if (recv_broken_)
    throw Error("recv: the connection is broken (" + broken_reason_ + "); close it");
}

void ConnectionCore::fail_stream(std::string why) {
  recv_broken_ = true;
  broken_reason_ = why;
  throw DecodeError("recv: " + why);
}

// Makes buf_[begin_, begin_ + need) valid (need <= kBufferSize). frame_size names the frame being
// read, for a truncation report (0: at a frame boundary, where EOF is clean).
void ConnectionCore::fill(std::size_t need, std::uint64_t frame_size) {
  if (!buf_) buf_ = std::make_unique_for_overwrite<std::byte[]>(kBufferSize);
  if (begin_ == end_) begin_ = end_ = 0;
  if (begin_ + need > kBufferSize) {
    std::memmove(buf_.get(), buf_.get() + begin_, end_ - begin_);
    end_ -= begin_;
    begin_ = 0;
  }
  while (end_ - begin_ < need) {
    std::size_t n = sys::recv_some(fd_, buf_.get() + end_, kBufferSize - end_, false);
    if (n == 0) {
      if (end_ == begin_ && frame_size == 0) throw EOFError();
      throw_truncated(frame_size != 0 ? frame_size : kHeaderSize, end_ - begin_);
    }
    end_ += n;
  }
}

std::uint64_t ConnectionCore::peek_frame_length() {
  if (end_ - begin_ < kHeaderSize) fill(kHeaderSize, 0);
  const std::byte* h = buf_.get() + begin_;
  const auto magic = static_cast<std::uint32_t>(get_le(h, 4));
  const auto flags = static_cast<std::uint32_t>(get_le(h + 4, 4));
  const std::uint64_t len = get_le(h + 8, 8);
  if (magic != kMagic || flags != 0) {
    fail_stream("bad frame header (magic " + hex(magic) + ", flags " + hex(flags) +
                "): the peer does not speak mproc's pipe protocol");
  }
  if (len > max_) {
    fail_stream("incoming message of " + std::to_string(len) + " bytes exceeds max_message_size " +
                std::to_string(max_) + "; the stream is now out of sync");
  }
  return len;
}

// Reads n bytes into dest, straight from the socket. done: bytes of the frame already read.
void ConnectionCore::read_exact(std::byte* dest, std::size_t n, std::uint64_t frame_size,
                                std::size_t done) {
  while (n > 0) {
    std::size_t got;
    try {
      got = sys::recv_some(fd_, dest, n, true);
    } catch (const SystemError& e) {
      recv_broken_ = true;  // part of the frame is consumed: the stream is out of sync
      broken_reason_ = std::string("a recv failed in the middle of a message: ") + e.what();
      throw;
    }
    // After EOF every later recv sees EOF again (the socket stays at end of stream).
    if (got == 0) throw_truncated(frame_size, done);
    dest += got;
    n -= got;
    done += got;
  }
}

std::span<const std::byte> ConnectionCore::recv_view() {
  check_can_recv();
  // Do not hold on to one huge message's memory (and not "= {}": that keeps the capacity).
  if (big_.capacity() > kBufferSize) big_ = std::vector<std::byte>();
  const std::uint64_t len = peek_frame_length();
  const std::uint64_t frame = kHeaderSize + len;
  if (frame <= kBufferSize) {
    fill(frame, frame);
    const std::byte* payload = buf_.get() + begin_ + kHeaderSize;
    begin_ += frame;
    return {payload, static_cast<std::size_t>(len)};
  }
  read_big_frame(big_, len);
  return big_;
}

std::size_t ConnectionCore::recv_into(std::vector<std::byte>& out) {
  check_can_recv();
  const std::uint64_t len = peek_frame_length();
  const std::uint64_t frame = kHeaderSize + len;
  if (frame <= kBufferSize) {
    fill(frame, frame);
    out.assign(buf_.get() + begin_ + kHeaderSize, buf_.get() + begin_ + frame);
    begin_ += frame;
    return len;
  }
  read_big_frame(out, len);
  return len;
}

void ConnectionCore::read_big_frame(std::vector<std::byte>& out, std::uint64_t len) {
  out.resize(len);  // may throw bad_alloc: nothing is consumed yet
  std::size_t have = std::min<std::size_t>(end_ - begin_ - kHeaderSize, len);
  std::memcpy(out.data(), buf_.get() + begin_ + kHeaderSize, have);
  begin_ += kHeaderSize + have;
  read_exact(out.data() + have, len - have, kHeaderSize + len, kHeaderSize + have);
}

bool ConnectionCore::poll(std::optional<std::chrono::nanoseconds> timeout) {
  if (fd_ < 0) throw Error("poll: the connection is closed");
  if (!readable_) throw Error("poll: the connection is write-only (Pipe(duplex=false) send end)");
  if (has_buffered_data()) return true;
  const int fds[] = {fd_};
  bool ready[] = {false};
  return sys::wait_readable(fds, ready, timeout) > 0;
}

}  // namespace mproc::detail
