// A worker's channel: one shared mapping holding what the worker reports about itself, a task
// ring (parent → worker) and a result ring (worker → parent). Created by the parent before it
// starts the worker: under fork an anonymous mapping both see at the same address; under spawn
// a sealed memfd, passed to the worker (SCM_RIGHTS), which maps it wherever it likes (the layout
// holds offsets only).
//
// Messages (record kinds): the parent sends kChunk (a ChunkHeader, then `count` items: packed
// `stride` bytes apart, or each a u32 length and the encoded arguments) and kStop. The worker answers each item, in order, with
// kOk (the encoded result) or kError (an encoded RemoteFailure) — or, for a result type of
// fixed size, several items at once in a kOkRun — then kChunkDone (ChunkDone)
// after the chunk's last item; kRetiring when it will take no more work (max_tasks_per_child,
// memory_limit_bytes) and kInitFailed (kStateFailed) when the initializer (worker_state factory)
// failed. A message larger than a record is sent as kFragment records: the first carries a
// FragmentHead, the rest only bytes.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>

#include "pool/crash_report.hpp"
#include "pool/ring.hpp"
#include "pool/worker_counters.hpp"
#include "sys/memory.hpp"
#include "sys/unique_fd.hpp"

namespace mproc::pool {

enum Kind : std::uint32_t {
  kChunk = 1,
  kStop = 2,
  kOk = 16,
  kError = 17,
  kOkRun = 21,  // RunHeader, then `count` packed results of `stride` bytes
  kChunkDone = 18,
  kRetiring = 19,
  kInitFailed = 20,
  kStateFailed = 22,  // the worker_state factory failed (a RemoteFailure, as kInitFailed)
  kSoftTimeout = 23,  // like kError: the item threw after its soft timeout asked it to stop
  kBind = 3,  // to a spawned worker: a RemoteBindKey, then a pool_bind_message (pool_batch.hpp)
  kFragment = 64,
};

struct ChunkHeader {
  std::uint64_t invoker;  // detail::ItemInvoker
  std::uint64_t fn;       // the user's function pointer (0 for a stateless function object)
  std::uint32_t count;    // items that follow
  std::uint32_t stride;   // > 0: items are packed, `stride` bytes each; 0: each has a u32 length
  std::uint64_t chunk_invoker;  // detail::ChunkInvoker for packed items, or 0
  std::uint32_t result_stride;  // its result size
  std::uint32_t closure_size;   // > 0: the task's closure state (bytes) precedes the items
};

// What a kBind names: the parent's invoker and function pointer words, as its chunks carry them.
struct RemoteBindKey {
  std::uint64_t invoker;
  std::uint64_t fn;
  bool operator==(const RemoteBindKey&) const = default;
};

struct ChunkDone {
  std::uint64_t elapsed_ns;  // from the chunk's first item's start to its last item's end
  std::uint32_t count;
  std::uint32_t reserved;
};

struct RunHeader {
  std::uint32_t stride;
  std::uint32_t count;
};

struct FragmentHead {
  std::uint64_t total;  // bytes of the whole message
  std::uint32_t kind;   // the message's kind
  std::uint32_t reserved;
};

// A task's exception, as the worker sends it.
struct RemoteFailure {
  std::string type_name;
  std::string what;
  template <class Ar>
  void serialize(Ar& ar) {
    ar(type_name, what);
  }
};

enum class InitState : std::uint32_t { kRunning = 0, kDone = 1, kFailed = 2 };

// What the worker writes about itself; the parent reads it (also after the worker died).
struct WorkerStatus {
  alignas(kCacheLine) std::atomic<std::uint64_t> items_started{0};  // function calls begun
  std::atomic<std::int64_t> item_started_ns{0};  // CLOCK_MONOTONIC; kept only with a task timeout
  std::atomic<std::uint32_t> init_state{0};
  // The open run: a kOkRun record reserved in the result ring and being filled item by item.
  // If the worker dies, the parent takes run_items results from run_offset (in the ring's data)
  // so that no finished item is run twice.
  std::atomic<std::uint32_t> run_open{0};
  std::atomic<std::uint32_t> run_items{0};
  std::atomic<std::uint32_t> run_stride{0};
  std::atomic<std::uint64_t> run_offset{0};
  CrashArea crash{};  // filled by the worker's fatal-signal handler
  WorkerCounters counters{};  // for Pool::stats(); on cache lines of their own
};

// The whole pool's shared page: how a sleeping supervisor asks to be woken.
struct PoolShared {
  alignas(kCacheLine) std::atomic<std::uint32_t> supervisor_waiting{0};
  alignas(kCacheLine) std::atomic<std::uint64_t> chunk_ends{0};  // bumped per kChunkDone
};

inline constexpr std::size_t kRingBytes = std::size_t{4} << 20;

// The mapping behind one worker's channel.
class Channel {
 public:
  enum class Memory { anonymous, memfd };
  // A new channel (the parent's side): anonymous for a forked worker, a memfd for a spawned one.
  explicit Channel(std::size_t ring_bytes = kRingBytes, Memory memory = Memory::anonymous);
  // The spawned worker's side of a memfd channel the parent made: maps it, constructs nothing.
  // Throws mproc::Error if the file's size does not fit ring_bytes.
  Channel(sys::UniqueFd memfd, std::size_t ring_bytes);
  // The memfd behind the channel (-1 if anonymous or released).
  [[nodiscard]] int fd() const noexcept { return fd_.get(); }
  // Closes the memfd (the mapping stays): once the worker has its own.
  void release_fd() noexcept { fd_.reset(); }
  [[nodiscard]] WorkerStatus& status() const noexcept { return *status_; }
  [[nodiscard]] Ring& tasks() noexcept { return tasks_; }
  [[nodiscard]] Ring& results() noexcept { return results_; }
  // The whole mapping (a worker unmaps its siblings' channels).
  [[nodiscard]] void* mapping() const noexcept { return map_.data(); }
  [[nodiscard]] std::size_t mapping_size() const noexcept { return map_.size(); }

 private:
  void lay_out(std::size_t ring_bytes, bool construct);

  sys::UniqueFd fd_;
  sys::SharedMapping map_;
  WorkerStatus* status_;
  Ring tasks_;
  Ring results_;
};

}  // namespace mproc::pool
