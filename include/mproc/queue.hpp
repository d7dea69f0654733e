// mproc/queue.hpp — Queue<T>, SimpleQueue<T>, JoinableQueue<T>: Python's multiprocessing queues
// for C++, in shared memory, with no feeder thread.
//
//   mproc::Queue<std::string> q;                          // before the Process / Pool starts
//   mproc::Process p([q]() mutable { q.put("hello"); });  // copies are the same queue
//   p.start();
//   std::string s = q.get();                              // "hello"
//
// Many producer and consumer processes (and threads) may use one queue. put() encodes the item
// (mproc/codec.hpp) straight into a ring in shared memory: once put() returns, the item is in
// the queue, even if its process exits or is killed right after (Python's put only hands the item
// to a feeder thread, and an exiting process may lose it). An item whose encoding is larger than
// half the ring (QueueOptions::capacity_bytes, default 4 MiB) streams through it in chunks while
// a consumer reads, so items of any size up to max_message_size (default 1 GiB) pass.
//
// Bounds: maxsize > 0 bounds the item count (put waits for a free slot). Whatever maxsize is, the
// ring bounds the bytes in flight: put waits while it is full, as a write to a full pipe does. So
// a producer that puts more than the ring holds, then waits for its consumer to exit before that
// consumer reads, deadlocks — as Python documents for its queues.
//
// Timeouts: put(v, timeout) returns false and get(timeout) / try_get() return nullopt when no
// room / no item came in time (any std::chrono duration, CLOCK_MONOTONIC, never shortened by
// signals). A put's timeout covers the whole put: a streamed item that cannot finish in time is
// withdrawn (consumers never see it). A get's timeout covers waiting for an item to begin; once a
// streamed item has begun, get finishes it.
//
// close(): no more items, for every process (unlike Python's per-process close): later puts throw
// mproc::Error; gets return what is queued, then throw EOFError. Waiting puts and gets wake up.
//
// Peer death: a producer or consumer killed at any instant, even holding the queue's lock or
// half-way through an item, never wedges the others. The next process to take the lock repairs
// the queue: a half-written item is discarded (its put never returned), a completed one is kept;
// an item whose consumer died before get returned is delivered again to the next consumer,
// except a streamed item the dead consumer had begun to read, which is lost. Nothing else is.
//
// JoinableQueue: every item put must be answered by one task_done() (from any process); join()
// waits until all have been. As in Python, a consumer that dies between get and task_done leaves
// join waiting: use join(timeout).
//
// Threads: every member function may be called concurrently on the same or copied objects,
// except assignment and destruction of the one object being called. A forked child (Process,
// Pool worker, Pool initializer argument) uses the queue its parent made; a process it is
// exported to (a Process argument under spawn or forkserver; mproc/detail/handle.hpp) maps the
// same ring. A moved-from queue is empty: only assignment, destruction and export (which throws
// Error) may follow.
//
// A sleeping put or get also looks again every 50 ms, so a peer killed between publishing and
// waking it delays it by at most that.
//
// Cost: a put or get of a small item takes one uncontended lock, a copy into or out of the
// ring and no system call while the other side keeps up (both sides spin briefly before they
// sleep on a futex); large items cost one copy in and one copy out. See `make bench`.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <span>
#include <utility>

#include "mproc/codec.hpp"
#include "mproc/detail/queue_core.hpp"
#include "mproc/detail/timeout.hpp"
#include "mproc/error.hpp"

namespace mproc {

namespace detail {
template <class T>
struct HandleTraits;  // mproc/detail/handle.hpp
}  // namespace detail

template <class T>
class Queue {
  // A non-transferable T fails here, naming the innermost offending type (see codec.hpp).
  static_assert(detail::assert_transferable<T>());

 public:
  using value_type = T;

  // maxsize 0: no bound on the item count. Throws SystemError when the shared memory cannot be
  // mapped.
  explicit Queue(std::size_t maxsize = 0) : Queue(QueueOptions{.maxsize = maxsize}) {}
  explicit Queue(const QueueOptions& options)
      : core_(std::make_shared<detail::QueueCore>(options)) {}

  // Puts v, waiting for room as long as it takes. Error when closed or v encodes to more than
  // max_message_size(); exceptions from T's serialize pass through (nothing is put then).
  void put(const T& v) { (void)put_until(v, std::nullopt); }
  // Waits at most timeout for room; false: not put.
  template <class Rep, class Period>
  [[nodiscard]] bool put(const T& v, std::chrono::duration<Rep, Period> timeout) {
    return put_until(v, detail::deadline_after(detail::to_timeout_ns(timeout)));
  }
  // Puts v only if there is room now (Python's put_nowait).
  [[nodiscard]] bool try_put(const T& v) { return put_until(v, std::chrono::steady_clock::now()); }

  // The oldest item, waiting as long as it takes. EOFError when closed and empty; DecodeError
  // when the bytes are not a T (the item is consumed).
  [[nodiscard]] T get() { return *get_until(std::nullopt); }
  // Waits at most timeout for an item; nullopt: none came.
  template <class Rep, class Period>
  [[nodiscard]] std::optional<T> get(std::chrono::duration<Rep, Period> timeout) {
    return get_until(detail::deadline_after(detail::to_timeout_ns(timeout)));
  }
  // An item if one is there now (Python's get_nowait); nullopt otherwise (also while another
  // consumer holds the queue's lock).
  [[nodiscard]] std::optional<T> try_get() { return get_until(std::chrono::steady_clock::now()); }

  // Items in the queue (a snapshot: others may be putting and getting meanwhile).
  [[nodiscard]] std::size_t size() const noexcept { return core_->size(); }
  [[nodiscard]] bool empty() const noexcept { return size() == 0; }
  [[nodiscard]] bool full() const noexcept {
    return core_->maxsize() != 0 && size() >= core_->maxsize();
  }
  // Bytes the ring holds now: queued items' encodings and record headers (a snapshot).
  [[nodiscard]] std::size_t bytes_queued() const noexcept { return core_->bytes_queued(); }
  [[nodiscard]] std::size_t maxsize() const noexcept { return core_->maxsize(); }
  [[nodiscard]] std::size_t capacity_bytes() const noexcept { return core_->capacity_bytes(); }
  [[nodiscard]] std::size_t max_message_size() const noexcept {
    return core_->max_message_size();
  }

  // Closes the queue for every process (see above). Idempotent.
  void close() { core_->close(); }
  [[nodiscard]] bool closed() const noexcept { return core_->closed(); }

 protected:
  [[nodiscard]] detail::QueueCore& core() const noexcept { return *core_; }
  // An imported queue (mproc/detail/handle.hpp).
  explicit Queue(std::shared_ptr<detail::QueueCore> core) noexcept : core_(std::move(core)) {}

 private:
  template <class U>
  friend struct detail::HandleTraits;
  bool put_until(const T& v, detail::Deadline deadline) {
    const std::size_t size = encoded_size(v);
    auto fill = [&v](std::span<std::byte> out) { (void)encode_into(out, v); };
    return core_->put(size, fill, deadline);
  }
  std::optional<T> get_until(detail::Deadline deadline) {
    std::optional<T> out;
    auto take = [&out](std::span<const std::byte> bytes) { out.emplace(decode<T>(bytes)); };
    (void)core_->get(take, deadline);
    return out;
  }

  std::shared_ptr<detail::QueueCore> core_;
};

// Python's SimpleQueue: an unbounded Queue (the same engine; Python's is a locked pipe).
template <class T>
class SimpleQueue : public Queue<T> {
 public:
  SimpleQueue() : Queue<T>(std::size_t{0}) {}
  explicit SimpleQueue(const QueueOptions& options) : Queue<T>(without_maxsize(options)) {}

 private:
  template <class U>
  friend struct detail::HandleTraits;
  explicit SimpleQueue(std::shared_ptr<detail::QueueCore> core) noexcept
      : Queue<T>(std::move(core)) {}
  static QueueOptions without_maxsize(QueueOptions o) {
    o.maxsize = 0;
    return o;
  }
};

// A Queue whose items are each answered by task_done(); join() waits for all answers.
template <class T>
class JoinableQueue : public Queue<T> {
 public:
  using Queue<T>::Queue;

  // One item's work is finished. Error when called more times than items were put.
  void task_done() { this->core().task_done(); }
  // Waits until every item put so far has had its task_done().
  void join() { (void)this->core().join(std::nullopt); }
  // Waits at most timeout; false: some are still unfinished.
  template <class Rep, class Period>
  [[nodiscard]] bool join(std::chrono::duration<Rep, Period> timeout) {
    return this->core().join(detail::deadline_after(detail::to_timeout_ns(timeout)));
  }

 private:
  template <class U>
  friend struct detail::HandleTraits;
  explicit JoinableQueue(std::shared_ptr<detail::QueueCore> core) noexcept
      : Queue<T>(std::move(core)) {}
};

}  // namespace mproc
