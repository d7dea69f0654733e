// The queue's engine: see queue_layout.hpp for what lives in shared memory and why a killed
// process cannot wedge it.
//
// Writers: take the write lock, wait for room (spin, then sleep on space_seq), write the record
// in place, commit, release the lock, and bump data_seq only if the reader announced that it
// sleeps. Readers mirror that. Only the holder of a side's lock ever waits for the other side,
// so each sequence word has at most one sleeper (others queue on the lock), except join().
#include "mproc/detail/queue_core.hpp"

#include <algorithm>
#include <bit>
#include <climits>
#include <cstring>
#include <new>
#include <string>
#include <vector>

#include "mproc/error.hpp"
#include "queue/queue_layout.hpp"
#include "sys/futex.hpp"
#include "shared_memory/shm_access.hpp"
#include "sys/spin.hpp"

namespace mproc::detail {

namespace {

using queue::QueueControl;
using queue::RecordHeader;
using queue::Side;
using Clock = std::chrono::steady_clock;

constexpr std::size_t kMinCapacity = std::size_t{64} << 10;
constexpr std::size_t kMaxCapacity = std::size_t{1} << 40;
constexpr auto kSpin = std::chrono::microseconds(50);
// A reader inside a streamed item looks this often whether its writer died (no other writer may
// come to notice).
constexpr auto kWriterCheck = std::chrono::milliseconds(10);
// Every sleep ends after this at the latest and looks again. A process killed between its commit
// and its wake-up call leaves a sleeper that nobody wakes; the next holder of its lock repairs
// that (bumps both sequence words), and this bounds the wait when no one takes the lock again.
constexpr auto kRecheck = std::chrono::milliseconds(50);

// The shorter of time_left(deadline) and kRecheck.
std::chrono::nanoseconds slice(Deadline deadline) {
  const auto left = time_left(deadline);
  return left && *left < kRecheck ? *left : std::chrono::nanoseconds(kRecheck);
}

[[noreturn]] void throw_closed(const char* call) {
  throw Error(std::string("Queue::") + call + ": the queue is closed");
}

[[noreturn]] void throw_corrupt(const std::string& what) {
  throw Error("Queue: the shared ring is corrupted (" + what +
              "); a process wrote over the queue's memory");
}

// Commits pending values through the side's redo log (see queue_layout.hpp).
void commit(Side& s, std::uint64_t pos, std::uint64_t items) noexcept {
  s.pending_pos = pos;
  s.pending_items = items;
  s.phase.store(1, std::memory_order_release);
  s.pos.store(pos, std::memory_order_release);
  s.items.store(items, std::memory_order_release);
  s.phase.store(0, std::memory_order_release);
}

// Finishes a commit its writer did not (it died between phase = 1 and phase = 0).
void finish_commit(Side& s) noexcept {
  if (s.phase.load(std::memory_order_acquire) == 1) {
    s.pos.store(s.pending_pos, std::memory_order_release);
    s.items.store(s.pending_items, std::memory_order_release);
    s.phase.store(0, std::memory_order_release);
  }
}

void bump(std::atomic<std::uint32_t>& seq) noexcept {
  seq.fetch_add(1, std::memory_order_release);
  sys::futex_wake(seq, INT_MAX);
}

bool passed(Deadline deadline) { return deadline && Clock::now() >= *deadline; }

// The one wait of both sides: polls check() (a result ends the wait) for kSpin, then sleeps on
// seq between polls, each sleep at most next_slice() long and ended early by the other side's
// wake-up; before_sleep() may end the wait too (a deadline, a dead writer).
template <class Check, class BeforeSleep, class NextSlice>
auto spin_then_sleep(std::atomic<std::uint32_t>& sleeping, std::atomic<std::uint32_t>& seq,
                     Check check, BeforeSleep before_sleep, NextSlice next_slice) {
  // Most waits end at once: read the clock only when the first check fails (a clock read is
  // about a third of a small item's put or get on a VM).
  if (auto r = check()) return r;
  const auto spin_end = Clock::now() + kSpin;
  for (unsigned i = 0;; ++i) {
    if (auto r = check()) return r;
    if ((i & 63) == 63 && Clock::now() >= spin_end) break;
    sys::cpu_relax();
  }
  for (;;) {
    if (auto r = check()) return r;
    if (auto r = before_sleep()) return r;
    sys::sleep_unless(sleeping, seq, [&] { return check().has_value(); }, next_slice());
  }
}

// Holds one side's robust lock; repairs the side when the previous holder died.
class SideLock {
 public:
  SideLock(sys::RobustMutex& m, Deadline deadline) : m_(m) {
    switch (m.lock(deadline)) {
      case sys::RobustMutex::Result::acquired:
        held_ = true;
        break;
      case sys::RobustMutex::Result::owner_died:
        held_ = true;
        owner_died_ = true;
        break;
      case sys::RobustMutex::Result::busy:
        break;
    }
  }
  SideLock(const SideLock&) = delete;
  SideLock& operator=(const SideLock&) = delete;
  ~SideLock() {
    if (held_) (void)m_.unlock();
  }
  [[nodiscard]] bool held() const noexcept { return held_; }
  [[nodiscard]] bool owner_died() const noexcept { return owner_died_; }

 private:
  sys::RobustMutex& m_;
  bool held_ = false;
  bool owner_died_ = false;
};

std::size_t ring_capacity(std::size_t wanted) {
  if (wanted > kMaxCapacity) throw Error("QueueOptions: capacity_bytes is larger than 1 TiB");
  return std::bit_ceil(std::max(wanted, kMinCapacity));
}

}  // namespace

struct QueueCore::Impl {
  explicit Impl(const QueueOptions& o)
      : cap(ring_capacity(o.capacity_bytes)),
        memory(ShmAccess::anonymous(queue::kRingOffset + cap, "mproc-queue")) {
    if (o.max_message_size == 0) throw Error("QueueOptions: max_message_size must be positive");
    c = new (memory.data()) QueueControl(cap, o.maxsize, o.max_message_size);
    ring = memory.data() + queue::kRingOffset;
  }
  // Another process's queue: its control block is live; check that it fits the memory.
  explicit Impl(SharedMemory imported)
      : cap(imported_capacity(imported)), memory(std::move(imported)) {
    c = std::launder(reinterpret_cast<QueueControl*>(memory.data()));
    ring = memory.data() + queue::kRingOffset;
  }
  static std::size_t imported_capacity(const SharedMemory& m) {
    const auto* control = reinterpret_cast<const QueueControl*>(m.data());
    const std::uint64_t capacity = m.size() >= queue::kRingOffset ? control->capacity : 0;
    if (capacity < kMinCapacity || capacity > kMaxCapacity || !std::has_single_bit(capacity) ||
        queue::kRingOffset + capacity != m.size() || control->max_message_size == 0) {
      throw Error("import_handle<Queue>: the memory passed is not a queue's (" +
                  std::to_string(m.size()) + " bytes, ring of " + std::to_string(capacity) + ")");
    }
    return static_cast<std::size_t>(capacity);
  }

  // The largest payload sent as one record; anything bigger streams.
  [[nodiscard]] std::size_t max_whole() const noexcept { return cap / 2 - sizeof(RecordHeader); }
  // Payload of each record of a streamed item.
  [[nodiscard]] std::size_t chunk() const noexcept { return cap / 4 - sizeof(RecordHeader); }

  // --- writer side (under write_lock) ---
  // After OwnerDied on the write lock. The dead writer may have published without waking the
  // reader: wake it.
  void repair_writer() noexcept {
    finish_commit(c->w);
    bump(c->data_seq);
    if (c->w.mid_item.load(std::memory_order_acquire) == queue::kStreaming) {
      abandon_stream();
    }
  }
  void abandon_stream() noexcept {
    c->w.mid_item.store(queue::kAbandoned, std::memory_order_seq_cst);
    bump(c->data_seq);  // a reader inside the item may sleep: let it look
  }

  enum class Wait { kReady, kTimeout, kClosed };

  // Waits (holding the write lock) until ready(); kClosed once close() began.
  template <class Ready>
  Wait writer_wait(Ready ready, Deadline deadline) {
    return *spin_then_sleep(
        c->writer_sleeping, c->space_seq,
        [&]() -> std::optional<Wait> {
          if (ready()) return Wait::kReady;
          if (c->closed.load(std::memory_order_acquire) != queue::kOpen) return Wait::kClosed;
          return std::nullopt;
        },
        [&]() -> std::optional<Wait> {
          if (passed(deadline)) return Wait::kTimeout;
          return std::nullopt;
        },
        [&] { return slice(deadline); });
  }

  // Room for a record of `payload` bytes at `tail` (after a pad if it would straddle the end):
  // returns where its header goes and moves tail past any pad, or nullptr (see `result`).
  std::byte* reserve(std::uint64_t& tail, std::size_t payload, Deadline deadline, Wait& result) {
    const std::size_t need = queue::padded(payload);
    const std::size_t at = static_cast<std::size_t>(tail & (cap - 1));
    const std::size_t to_end = cap - at;
    const std::size_t want = need <= to_end ? need : to_end + need;
    // (tail - head: the bytes in use; a stale cached_head, inherited or left from long ago,
    // only makes that look larger, even larger than the ring.)
    auto room = [&] {
      if (tail - cached_head <= cap - want) return true;
      cached_head = c->r.pos.load(std::memory_order_acquire);
      return tail - cached_head <= cap - want;
    };
    result = writer_wait(room, deadline);
    if (result != Wait::kReady) return nullptr;
    if (need > to_end) {
      const RecordHeader pad{static_cast<std::uint32_t>(to_end - sizeof(RecordHeader)),
                             queue::kPad};
      std::memcpy(ring + at, &pad, sizeof pad);
      tail += to_end;
      return ring;
    }
    return ring + at;
  }

  void publish(std::uint64_t tail, std::uint64_t items) noexcept {
    commit(c->w, tail, items);
    sys::wake_sleeper(c->reader_sleeping, c->data_seq, INT_MAX);
  }

  // --- reader side (under read_lock) ---
  enum class Arrival { kData, kTimeout, kClosed, kAbandoned };

  // Waits (holding the read lock) until a record follows `head`. Inside a streamed item
  // (`mid`), the deadline does not apply (the item is finished or discarded, never cut), and
  // the writer's death is checked every kWriterCheck.
  Arrival reader_wait(std::uint64_t head, bool mid, Deadline deadline) {
    auto data = [&] {
      if (cached_tail > head) return true;  // (a stale cache may lag behind head)
      cached_tail = c->w.pos.load(std::memory_order_acquire);
      return cached_tail > head;
    };
    auto other = [&]() -> std::optional<Arrival> {
      if (mid) {
        if (c->w.mid_item.load(std::memory_order_seq_cst) == queue::kAbandoned) {
          // Records published before the abandonment are visible now: drain them first.
          return data() ? Arrival::kData : Arrival::kAbandoned;
        }
      } else if (c->closed.load(std::memory_order_acquire) == queue::kClosed) {
        return data() ? Arrival::kData : Arrival::kClosed;
      }
      return std::nullopt;
    };
    return *spin_then_sleep(
        c->reader_sleeping, c->data_seq,
        [&]() -> std::optional<Arrival> {
          if (data()) return Arrival::kData;
          return other();
        },
        [&]() -> std::optional<Arrival> {
          if (mid && item_cannot_finish(data)) return Arrival::kAbandoned;
          if (!mid && passed(deadline)) return Arrival::kTimeout;
          return std::nullopt;
        },
        [&] { return mid ? std::chrono::nanoseconds(kWriterCheck) : slice(deadline); });
  }

  // A reader inside a streamed item whose writer went quiet. A streaming writer holds the write
  // lock until its item's last record: if the lock is free (or its holder died, which marks the
  // item abandoned) and nothing more was published, the item can never be finished.
  template <class Data>
  bool item_cannot_finish(Data& data) {
    switch (c->write_lock.try_lock()) {
      case sys::RobustMutex::Result::owner_died:
        repair_writer();
        break;
      case sys::RobustMutex::Result::acquired:
        break;
      case sys::RobustMutex::Result::busy:
        return false;
    }
    const bool over = !data();  // holding the lock: nothing can be published meanwhile
    (void)c->write_lock.unlock();
    return over;
  }

  void consumed(std::uint64_t head, std::uint64_t items) noexcept {
    commit(c->r, head, items);
    sys::wake_sleeper(c->writer_sleeping, c->space_seq, INT_MAX);
  }

  const std::size_t cap;
  SharedMemory memory;  // a sealed memfd: its fd is what export_handle passes
  QueueControl* c = nullptr;
  std::byte* ring = nullptr;
  // Process-local caches of the other side's position (lower bounds: positions only grow),
  // each used only under its side's lock.
  std::uint64_t cached_head = 0;  // writers' view of r.pos
  std::uint64_t cached_got = 0;   // writers' view of r.items (maxsize)
  std::uint64_t cached_tail = 0;  // readers' view of w.pos
};

QueueCore::TestView QueueCore::test_view() const noexcept {
  return {impl_->c, impl_->ring, impl_->cap};
}

QueueCore::QueueCore(const QueueOptions& options) : impl_(std::make_unique<Impl>(options)) {}

QueueCore::QueueCore(SharedMemory imported)
    : impl_(std::make_unique<Impl>(std::move(imported))) {}

const SharedMemory& QueueCore::memory() const noexcept { return impl_->memory; }

QueueCore::~QueueCore() = default;

bool QueueCore::put(std::size_t size, SpanFn<std::span<std::byte>> fill, Deadline deadline) {
  Impl& q = *impl_;
  QueueControl& c = *q.c;
  if (size > c.max_message_size) {
    throw Error("Queue::put: the item's encoding takes " + std::to_string(size) +
                " bytes, more than max_message_size (" + std::to_string(c.max_message_size) +
                ")");
  }
  if (c.closed.load(std::memory_order_acquire) != queue::kOpen) throw_closed("put");
  const bool whole = size <= q.max_whole();
  std::vector<std::byte> encoded;  // a streamed item is encoded before the lock is taken
  if (!whole) {
    encoded.resize(size);
    fill(std::span<std::byte>(encoded));
  }

  SideLock lock(c.write_lock, deadline);
  if (!lock.held()) return false;
  if (lock.owner_died()) q.repair_writer();
  if (c.closed.load(std::memory_order_acquire) != queue::kOpen) throw_closed("put");

  std::uint64_t tail = c.w.pos.load(std::memory_order_relaxed);
  const std::uint64_t items = c.w.items.load(std::memory_order_relaxed);
  if (c.maxsize != 0) {
    auto slot = [&] {
      if (items - q.cached_got < c.maxsize) return true;
      q.cached_got = c.r.items.load(std::memory_order_acquire);
      return items - q.cached_got < c.maxsize;
    };
    switch (q.writer_wait(slot, deadline)) {
      case Impl::Wait::kReady:
        break;
      case Impl::Wait::kTimeout:
        return false;
      case Impl::Wait::kClosed:
        throw_closed("put");
    }
  }

  Impl::Wait result{};
  if (whole) {
    std::byte* at = q.reserve(tail, size, deadline, result);
    if (at == nullptr) {
      if (result == Impl::Wait::kClosed) throw_closed("put");
      return false;
    }
    fill(std::span<std::byte>(at + sizeof(RecordHeader), size));
    const RecordHeader h{static_cast<std::uint32_t>(size), queue::kWhole};
    std::memcpy(at, &h, sizeof h);
    q.publish(tail + queue::padded(size), items + 1);
    return true;
  }

  // Streamed: records of up to chunk() bytes; the first begins with the total size.
  std::size_t sent = 0;
  bool started = false;
  while (sent < size) {
    const std::size_t prefix = started ? 0 : sizeof(std::uint64_t);
    const std::size_t part = std::min(q.chunk() - prefix, size - sent);
    std::byte* at = q.reserve(tail, prefix + part, deadline, result);
    if (at == nullptr) {
      if (started) q.abandon_stream();
      if (result == Impl::Wait::kClosed) throw_closed("put");
      return false;
    }
    std::byte* payload = at + sizeof(RecordHeader);
    if (!started) {
      const std::uint64_t total = size;
      std::memcpy(payload, &total, sizeof total);
    }
    std::memcpy(payload + prefix, encoded.data() + sent, part);
    sent += part;
    const bool last = sent == size;
    const RecordHeader h{static_cast<std::uint32_t>(prefix + part),
                         (started ? 0u : queue::kFirst) | (last ? queue::kLast : 0u)};
    std::memcpy(at, &h, sizeof h);
    if (!started) c.w.mid_item.store(queue::kStreaming, std::memory_order_seq_cst);
    started = true;
    tail += queue::padded(prefix + part);
    q.publish(tail, last ? items + 1 : items);
  }
  c.w.mid_item.store(queue::kNoItem, std::memory_order_seq_cst);
  return true;
}

bool QueueCore::get(SpanFn<std::span<const std::byte>> take, Deadline deadline) {
  Impl& q = *impl_;
  QueueControl& c = *q.c;
  SideLock lock(c.read_lock, deadline);
  if (!lock.held()) return false;
  if (lock.owner_died()) {
    finish_commit(c.r);
    bump(c.space_seq);  // the dead reader may have consumed without waking a writer
  }

  std::uint64_t head = c.r.pos.load(std::memory_order_relaxed);
  std::uint64_t items = c.r.items.load(std::memory_order_relaxed);
  // A reader that died inside a streamed item left the rest of it: discard that rest.
  bool mid = c.r.mid_item.load(std::memory_order_relaxed) == queue::kStreaming;
  bool keep = false;  // mid and assembling an item for this get (not discarding)
  std::vector<std::byte> item;
  std::uint64_t total = 0;

  auto drop_partial = [&] {
    mid = keep = false;
    item.clear();
    c.r.mid_item.store(queue::kNoItem, std::memory_order_relaxed);
  };

  for (;;) {
    switch (q.reader_wait(head, mid, deadline)) {
      case Impl::Arrival::kData:
        break;
      case Impl::Arrival::kTimeout:
        if (head != c.r.pos.load(std::memory_order_relaxed)) q.consumed(head, items);  // pads
        return false;
      case Impl::Arrival::kClosed:
        throw EOFError("Queue::get: the queue is closed and empty");
      case Impl::Arrival::kAbandoned:
        drop_partial();  // its writer died or gave up: the item was never put
        continue;
    }
    const std::uint64_t avail = q.cached_tail - head;
    const std::size_t at = static_cast<std::size_t>(head & (q.cap - 1));
    RecordHeader h;
    std::memcpy(&h, q.ring + at, sizeof h);
    if (avail > q.cap || avail < sizeof h || queue::padded(h.size) > avail ||
        at + sizeof h + h.size > q.cap) {
      throw_corrupt("a record of " + std::to_string(h.size) + " bytes, flags " +
                    std::to_string(h.flags) + " at " + std::to_string(head) + " runs past the " +
                    "published bytes (" + std::to_string(avail) + ") or the ring's end");
    }
    const std::byte* payload = q.ring + at + sizeof h;
    if (h.flags == queue::kPad) {
      if (at + sizeof h + h.size != q.cap) throw_corrupt("a pad record ends before the ring");
      head += sizeof h + h.size;
      continue;
    }
    if ((h.flags & ~queue::kWhole) != 0) throw_corrupt("unknown record flags");
    const bool first = (h.flags & queue::kFirst) != 0;
    const bool last = (h.flags & queue::kLast) != 0;
    const std::uint64_t next = head + queue::padded(h.size);

    if (first && mid) drop_partial();  // the item before this one was abandoned mid-way
    if (first && last) {
      // The common case: decode in place, then release the record (even if take throws).
      struct Release {
        Impl& q;
        std::uint64_t next, items;
        ~Release() { q.consumed(next, items); }
      } release{q, next, items + 1};
      take(std::span<const std::byte>(payload, h.size));
      return true;
    }
    if (first) {
      if (h.size < sizeof total) throw_corrupt("a first record without its size");
      std::memcpy(&total, payload, sizeof total);
      const std::size_t part = h.size - sizeof total;
      if (total > c.max_message_size || part > total) {
        throw_corrupt("a streamed item announces " + std::to_string(total) + " bytes");
      }
      // Mark before consuming: a death in between leaves the first record to be read again.
      c.r.mid_item.store(queue::kStreaming, std::memory_order_relaxed);
      mid = keep = true;
      item.reserve(static_cast<std::size_t>(total));
      item.assign(payload + sizeof total, payload + h.size);
      head = next;
      q.consumed(head, items);
      continue;
    }
    // A middle or last record.
    if (keep) {
      if (item.size() + h.size > total) throw_corrupt("a streamed item overruns its size");
      item.insert(item.end(), payload, payload + h.size);
    }
    head = next;
    if (!last) {
      q.consumed(head, items);
      continue;
    }
    ++items;  // the item ends here (kept, or a dead reader's remainder, or an orphan)
    const bool kept = keep;
    if (kept && item.size() != total) throw_corrupt("a streamed item is shorter than its size");
    std::vector<std::byte> whole = std::move(item);
    drop_partial();
    q.consumed(head, items);
    if (kept) {
      take(std::span<const std::byte>(whole));
      return true;
    }
  }
}

std::size_t QueueCore::size() const noexcept {
  const QueueControl& c = *impl_->c;
  const std::uint64_t got = c.r.items.load(std::memory_order_acquire);  // first: put >= got
  const std::uint64_t put = c.w.items.load(std::memory_order_acquire);
  return put > got ? static_cast<std::size_t>(put - got) : 0;
}

std::size_t QueueCore::bytes_queued() const noexcept {
  const QueueControl& c = *impl_->c;
  const std::uint64_t head = c.r.pos.load(std::memory_order_acquire);
  const std::uint64_t tail = c.w.pos.load(std::memory_order_acquire);
  return tail > head ? static_cast<std::size_t>(tail - head) : 0;
}

std::size_t QueueCore::maxsize() const noexcept { return impl_->c->maxsize; }
std::size_t QueueCore::capacity_bytes() const noexcept { return impl_->cap; }
std::size_t QueueCore::max_message_size() const noexcept { return impl_->c->max_message_size; }

bool QueueCore::closed() const noexcept {
  return impl_->c->closed.load(std::memory_order_acquire) != queue::kOpen;
}

void QueueCore::close() {
  Impl& q = *impl_;
  QueueControl& c = *q.c;
  std::uint32_t expected = queue::kOpen;
  c.closed.compare_exchange_strong(expected, queue::kClosing);
  bump(c.space_seq);  // a writer waiting for room gives up
  {
    // Wait out a put that is committing; afterwards nothing more is published.
    SideLock lock(c.write_lock, std::nullopt);
    if (lock.owner_died()) q.repair_writer();
    c.closed.store(queue::kClosed, std::memory_order_release);
  }
  bump(c.data_seq);  // a reader waiting for data sees the end
}

void QueueCore::task_done() {
  QueueControl& c = *impl_->c;
  std::uint64_t done = c.done.load();
  do {
    if (done >= c.w.items.load()) {
      throw Error("JoinableQueue::task_done: called more times than items were put");
    }
  } while (!c.done.compare_exchange_weak(done, done + 1));
  if (done + 1 == c.w.items.load()) {
    c.join_seq.fetch_add(1);
    if (c.joiners.load() != 0) sys::futex_wake(c.join_seq, INT_MAX);
  }
}

bool QueueCore::join(Deadline deadline) {
  QueueControl& c = *impl_->c;
  c.joiners.fetch_add(1);
  struct Uncount {
    QueueControl& c;
    ~Uncount() { c.joiners.fetch_sub(1); }
  } uncount{c};
  for (;;) {
    const std::uint32_t seq = c.join_seq.load();
    if (c.done.load() >= c.w.items.load()) return true;
    if (passed(deadline)) return false;
    sys::futex_wait(c.join_seq, seq, slice(deadline));
  }
}

}  // namespace mproc::detail
