// What a Queue keeps in shared memory: a control block and, after it, the ring of records.
//
// Records are {size, flags} headers and payloads padded to 8 bytes; a record never straddles the
// ring's end (a kPad record fills the rest first). A small item is one record, kFirst|kLast. An
// item bigger than half the ring streams through as several records: the first (kFirst) starts
// with the item's total size as a u64, the last carries kLast, and the writer holds the write
// lock throughout, so the records of one item are never interleaved with another's.
//
// Positions are byte counts since creation (ring index: pos & (capacity - 1)); `w.pos` is what
// writers have published, `r.pos` what readers have consumed. Each side moves its own position
// under its own robust lock, so a writer and a reader work at the same time, and a process killed
// at any instant leaves a state the next lock holder repairs:
//  - a commit (position and item count) is a small redo log: pending values, then phase = 1,
//    then the values, then phase = 0; whoever gets OwnerDied finishes a commit left at phase 1;
//  - a writer that died (or gave up on a timeout) in the middle of a streamed item leaves
//    w.mid_item != 0; it becomes kAbandoned and readers discard that item's records;
//  - a reader that died in the middle of a streamed item leaves r.mid_item = 1; the next reader
//    discards the rest of that item (it was the dead reader's).
// Nothing here is a pthread condition variable: sleeping is a futex on a sequence word, and a
// sleeper killed in its sleep leaves nothing that blocks a waker.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "sys/robust_mutex.hpp"

namespace mproc::queue {

inline constexpr std::size_t kLine = 64;

struct RecordHeader {
  std::uint32_t size;   // payload bytes
  std::uint32_t flags;  // kFirst, kLast, or kPad alone
};
inline constexpr std::uint32_t kFirst = 1;
inline constexpr std::uint32_t kLast = 2;
inline constexpr std::uint32_t kPad = 4;
inline constexpr std::uint32_t kWhole = kFirst | kLast;

// w.mid_item values (r.mid_item is kNoItem or kStreaming).
inline constexpr std::uint32_t kNoItem = 0;
inline constexpr std::uint32_t kStreaming = 1;
inline constexpr std::uint32_t kAbandoned = 2;

// closed values.
inline constexpr std::uint32_t kOpen = 0;
inline constexpr std::uint32_t kClosing = 1;  // puts refused; a put may still be committing
inline constexpr std::uint32_t kClosed = 2;   // nothing more will be published

[[nodiscard]] constexpr std::size_t padded(std::size_t payload) noexcept {
  return (sizeof(RecordHeader) + payload + 7) & ~std::size_t{7};
}

// One side's committed position and item count, changed only under that side's lock.
struct alignas(kLine) Side {
  std::atomic<std::uint64_t> pos{0};
  std::atomic<std::uint64_t> items{0};
  std::uint64_t pending_pos = 0;
  std::uint64_t pending_items = 0;
  std::atomic<std::uint32_t> phase{0};
  std::atomic<std::uint32_t> mid_item{0};
};

struct alignas(kLine) QueueControl {
  QueueControl(std::uint64_t cap, std::uint64_t max_items, std::uint64_t max_message)
      : capacity(cap), maxsize(max_items), max_message_size(max_message) {}

  const std::uint64_t capacity;  // ring bytes, a power of two
  const std::uint64_t maxsize;   // 0: unbounded item count
  const std::uint64_t max_message_size;

  alignas(kLine) sys::RobustMutex write_lock{false};
  alignas(kLine) sys::RobustMutex read_lock{false};
  Side w;  // writers: published
  Side r;  // readers: consumed

  // The reader holding read_lock sleeps on data_seq; writers bump it after publishing.
  alignas(kLine) std::atomic<std::uint32_t> data_seq{0};
  std::atomic<std::uint32_t> reader_sleeping{0};
  // The writer holding write_lock sleeps on space_seq; readers bump it after consuming.
  alignas(kLine) std::atomic<std::uint32_t> space_seq{0};
  std::atomic<std::uint32_t> writer_sleeping{0};

  alignas(kLine) std::atomic<std::uint32_t> closed{kOpen};
  // JoinableQueue: task_done() calls so far; join() waits until it reaches w.items.
  alignas(kLine) std::atomic<std::uint64_t> done{0};
  std::atomic<std::uint32_t> join_seq{0};
  std::atomic<std::uint32_t> joiners{0};
};

// The ring starts at the first cache line after the control block.
inline constexpr std::size_t kRingOffset = (sizeof(QueueControl) + kLine - 1) & ~(kLine - 1);

}  // namespace mproc::queue
