// A single-producer single-consumer ring of variable-length records in shared memory: one
// direction of a worker's channel. The producer reserves a contiguous span, encodes straight
// into it and publishes it with one release store; the consumer reads records in place. No
// syscalls on the hot path; sleeping and waking are the caller's (see channel.hpp).
//
// A record is an 8-byte header {size, kind} and `size` payload bytes, padded to 8. A record
// that would straddle the end is preceded by a kPad record filling the rest of the ring, so
// every record is contiguous; a payload up to max_record() always fits an empty ring.
#pragma once

#include <atomic>
#include <chrono>
#include <optional>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

#include "sys/futex.hpp"
#include "sys/spin.hpp"

namespace mproc::pool {

inline constexpr std::size_t kCacheLine = 64;

using sys::cpu_relax;
using sys::full_fence;

struct RecordHeader {
  std::uint32_t size;  // payload bytes
  std::uint32_t kind;  // what the payload is (channel.hpp); kPad: skip to the ring's start
};
inline constexpr std::uint32_t kPad = 0xffffffffu;

struct RingControl {
  alignas(kCacheLine) std::atomic<std::uint64_t> head{0};  // bytes published by the producer
  alignas(kCacheLine) std::atomic<std::uint64_t> tail{0};  // bytes released by the consumer
  // Spin-then-sleep: the side about to sleep sets its flag, re-checks, then futex-waits on
  // its sequence word; the other side, after making progress, bumps the word and wakes it.
  alignas(kCacheLine) std::atomic<std::uint32_t> consumer_sleeping{0};
  std::atomic<std::uint32_t> consumer_seq{0};
  alignas(kCacheLine) std::atomic<std::uint32_t> producer_sleeping{0};
  std::atomic<std::uint32_t> producer_seq{0};
};

class Ring {
 public:
  Ring() = default;
  // control and data (capacity bytes, a power of two, 8-aligned) live in shared memory.
  Ring(RingControl* control, std::byte* data, std::size_t capacity) noexcept
      : c_(control), data_(data), cap_(capacity) {}

  [[nodiscard]] RingControl& control() const noexcept { return *c_; }
  [[nodiscard]] std::size_t capacity() const noexcept { return cap_; }
  // The record bytes themselves (for tests and the fuzzer, which play a hostile producer).
  [[nodiscard]] std::byte* data() const noexcept { return data_; }
  // The largest payload a single record may carry.
  [[nodiscard]] std::size_t max_record() const noexcept { return cap_ / 2 - sizeof(RecordHeader); }

  static constexpr std::size_t padded(std::size_t payload) noexcept {
    return (sizeof(RecordHeader) + payload + 7) & ~std::size_t{7};
  }

  // --- producer ---
  // A span of `size` bytes to fill, or nullptr if the ring has no room now.
  // size <= max_record(). Nothing is visible to the consumer until publish(). The consumer's
  // position is re-read only when the cached one says there is no room (no cache-line traffic
  // per record).
  [[nodiscard]] std::byte* try_reserve(std::size_t size) noexcept {
    const std::size_t need = padded(size);
    const std::size_t pos = static_cast<std::size_t>(head_ & (cap_ - 1));
    const std::size_t to_end = cap_ - pos;
    const std::size_t want = need <= to_end ? need : to_end + need;
    if (cap_ - static_cast<std::size_t>(head_ - cached_tail_) < want) {
      cached_tail_ = c_->tail.load(std::memory_order_acquire);
      if (cap_ - static_cast<std::size_t>(head_ - cached_tail_) < want) return nullptr;
    }
    pending_pad_ = need <= to_end ? 0 : to_end;
    return data_ + (pending_pad_ ? 0 : pos) + sizeof(RecordHeader);
  }
  // Publishes the record reserved last, with its final size (<= the reserved size).
  void publish(std::uint32_t kind, std::size_t size) noexcept {
    if (pending_pad_) {
      RecordHeader pad{static_cast<std::uint32_t>(pending_pad_ - sizeof(RecordHeader)), kPad};
      std::memcpy(data_ + (head_ & (cap_ - 1)), &pad, sizeof pad);
      head_ += pending_pad_;
      pending_pad_ = 0;
    }
    RecordHeader h{static_cast<std::uint32_t>(size), kind};
    std::memcpy(data_ + (head_ & (cap_ - 1)), &h, sizeof h);
    head_ += padded(size);
    c_->head.store(head_, std::memory_order_release);
  }
  // The consumer may have gone to sleep: the producer calls this after publish().
  void wake_consumer() noexcept { sys::wake_sleeper(c_->consumer_sleeping, c_->consumer_seq); }
  // The producer may sleep waiting for room: the consumer calls this after release().
  void wake_producer() noexcept { sys::wake_sleeper(c_->producer_sleeping, c_->producer_seq); }

  // Consumer: sleeps until the ring is not empty (or a spurious wake-up; re-check).
  void sleep_until_not_empty(std::optional<std::chrono::nanoseconds> timeout = std::nullopt) {
    sys::sleep_unless(c_->consumer_sleeping, c_->consumer_seq, [&] { return !empty(); }, timeout);
  }
  // Producer: sleeps until `bytes` more bytes may be free (or a spurious wake-up; re-check).
  void sleep_until_room(std::size_t bytes) {
    sys::sleep_unless(c_->producer_sleeping, c_->producer_seq,
                      [&] { return cap_ - used() >= bytes; }, std::nullopt);
  }

  // --- consumer ---
  struct Record {
    std::uint32_t kind = 0;
    std::span<const std::byte> payload{};
  };
  enum class Peek { kEmpty, kRecord, kCorrupt };
  // The oldest unreleased record (pads are skipped). kCorrupt: the producer's bytes do not
  // describe a record inside what it published (a task scribbled on the channel); the caller
  // must stop reading this ring.
  [[nodiscard]] Peek peek(Record& out) noexcept {
    for (;;) {
      if (tail_ == cached_head_) {
        cached_head_ = c_->head.load(std::memory_order_acquire);
        if (tail_ == cached_head_) return Peek::kEmpty;
      }
      const std::uint64_t avail = cached_head_ - tail_;
      const std::size_t pos = static_cast<std::size_t>(tail_ & (cap_ - 1));
      RecordHeader h;
      std::memcpy(&h, data_ + pos, sizeof h);
      if (avail > cap_ || avail < sizeof h || padded(h.size) > avail) return Peek::kCorrupt;
      if (h.kind == kPad) {
        if (pos + sizeof(RecordHeader) + h.size != cap_) return Peek::kCorrupt;
        tail_ += sizeof(RecordHeader) + h.size;
        continue;
      }
      if (pos + sizeof(RecordHeader) + h.size > cap_) return Peek::kCorrupt;
      out.kind = h.kind;
      out.payload = {data_ + pos + sizeof(RecordHeader), h.size};
      return Peek::kRecord;
    }
  }
  // Releases the record peek() returned. The producer sees the room after flush(), which
  // happens by itself once an eighth of the ring is waiting to be handed back.
  void release(const Record& r) noexcept {
    tail_ += padded(r.payload.size());
    if (tail_ - flushed_tail_ >= cap_ / 8) flush();
  }
  // Hands released room back to the producer and wakes it if it sleeps for room.
  void flush() noexcept {
    if (tail_ == flushed_tail_) return;
    flushed_tail_ = tail_;
    c_->tail.store(tail_, std::memory_order_release);
    wake_producer();
  }
  // Consumer: nothing left to read.
  [[nodiscard]] bool empty() const noexcept {
    return c_->head.load(std::memory_order_acquire) == tail_;
  }
  // Producer: bytes in the ring.
  [[nodiscard]] std::size_t used() const noexcept {
    return static_cast<std::size_t>(head_ - c_->tail.load(std::memory_order_acquire));
  }

 private:
  RingControl* c_ = nullptr;
  std::byte* data_ = nullptr;
  std::size_t cap_ = 0;
  std::size_t pending_pad_ = 0;
  // Private to the process using this end (the parent or the worker each hold a copy).
  std::uint64_t head_ = 0, cached_tail_ = 0;                     // producer
  std::uint64_t tail_ = 0, flushed_tail_ = 0, cached_head_ = 0;  // consumer
};

}  // namespace mproc::pool
