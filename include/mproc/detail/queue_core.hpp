// QueueCore: the untyped engine behind Queue<T>, SimpleQueue<T> and JoinableQueue<T>
// (mproc/queue.hpp). It moves byte strings through one shared-memory ring; the typed layer only
// encodes and decodes. The ring and its control block live in one sealed memfd mapping
// (src/queue/queue_layout.hpp), so copies of a queue and forked children share it, and a process
// it is exported to (mproc/detail/handle.hpp) maps it again.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <type_traits>
#include <utility>

#include "mproc/detail/timeout.hpp"
#include "mproc/shared_memory.hpp"

namespace mproc {

struct QueueOptions {
  // Items in the queue at once; 0: no limit on the count (the ring's bytes still bound it).
  std::size_t maxsize = 0;
  // Bytes of the shared ring, rounded up to a power of two (at least 64 KiB). An item whose
  // encoding takes more than half of it streams through in chunks instead of being copied in
  // whole. A put waits while the ring is full, as a write to a full pipe does.
  std::size_t capacity_bytes = std::size_t{4} << 20;
  // The largest encoded item, both ways; a bigger put throws mproc::Error before writing.
  std::size_t max_message_size = std::size_t{1} << 30;
};

namespace detail {

struct QueueState;  // src/queue/queue_core.cpp

// A non-owning reference to a callable taking a span: the hot path's alternative to
// std::function (no allocation, one indirect call).
template <class Span>
class SpanFn {
 public:
  template <class F>
    requires(!std::is_same_v<std::remove_cvref_t<F>, SpanFn>)
  SpanFn(F& f) noexcept  // NOLINT: implicit on purpose, like std::function_ref
      : obj_(static_cast<void*>(&f)), call_([](void* o, Span s) { (*static_cast<F*>(o))(s); }) {}
  void operator()(Span s) const { call_(obj_, s); }

 private:
  void* obj_;
  void (*call_)(void*, Span);
};

class QueueCore {
 public:
  explicit QueueCore(const QueueOptions& options);  // Error on bad options; SystemError (mmap)
  // A queue another process made, from its memory (mproc/detail/handle.hpp). Error when the
  // memory does not hold a queue's control block and ring.
  explicit QueueCore(SharedMemory imported);
  QueueCore(const QueueCore&) = delete;
  QueueCore& operator=(const QueueCore&) = delete;
  ~QueueCore();

  // Puts one item of `size` bytes, written by fill(span of exactly size bytes). false: the
  // deadline passed first (nothing was put). Error: closed, or size > max_message_size.
  // Exceptions from fill propagate, with nothing put.
  bool put(std::size_t size, SpanFn<std::span<std::byte>> fill, Deadline deadline);
  // Takes the oldest item and calls take(its bytes) while they are valid; the item is consumed
  // even if take throws. false: the deadline passed before an item began to arrive.
  // EOFError: closed and drained.
  bool get(SpanFn<std::span<const std::byte>> take, Deadline deadline);

  [[nodiscard]] std::size_t size() const noexcept;
  [[nodiscard]] std::size_t bytes_queued() const noexcept;
  [[nodiscard]] std::size_t maxsize() const noexcept;
  [[nodiscard]] std::size_t capacity_bytes() const noexcept;
  [[nodiscard]] std::size_t max_message_size() const noexcept;
  [[nodiscard]] bool closed() const noexcept;
  void close();

  // The memory holding the control block and ring (its fd is what an export passes).
  [[nodiscard]] const SharedMemory& memory() const noexcept;

  // JoinableQueue.
  void task_done();
  bool join(Deadline deadline);

  // For the fuzzer and tests that play a hostile process: the shared control block
  // (queue::QueueControl in src/queue/queue_layout.hpp) and the ring.
  struct TestView {
    void* control;
    std::byte* ring;
    std::size_t capacity;
  };
  [[nodiscard]] TestView test_view() const noexcept;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace detail
}  // namespace mproc
