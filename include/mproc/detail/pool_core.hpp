// The type-erased engine behind mproc::Pool (pool.hpp). The templates in pool.hpp turn a call
// into encoded inputs, an invoker (a function pointer that decodes, calls and encodes for one
// item in the worker) and a Batch that receives the results; PoolCore (src/pool) does the rest:
// workers, channels, the supervisor thread, failures, timeouts and recycling.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "mproc/initializer.hpp"
#include "mproc/pool_stats.hpp"
#include "mproc/progress.hpp"
#include "mproc/sandbox.hpp"
#include "mproc/start_method.hpp"
#include "mproc/worker_state.hpp"

namespace mproc {

// What enforces PoolOptions::memory_limit_bytes in the workers (Pool::memory_limit_mode()).
enum class MemoryLimitMode {
  none,       // no limit asked for (memory_limit_bytes == 0)
  rlimit,     // RLIMIT_AS: an allocation past the limit fails (std::bad_alloc in the task)
  cgroup_v1,  // a cgroup v1 memory cgroup per worker: past the limit the kernel OOM-kills it
  cgroup_v2,  // a cgroup v2 child per worker with memory.max: the same
};
[[nodiscard]] constexpr const char* to_string(MemoryLimitMode m) noexcept {
  switch (m) {
    case MemoryLimitMode::rlimit:
      return "rlimit";
    case MemoryLimitMode::cgroup_v1:
      return "cgroup_v1";
    case MemoryLimitMode::cgroup_v2:
      return "cgroup_v2";
    default:
      return "none";
  }
}

struct PoolOptions {
  unsigned processes = 0;                      // 0: process_cpu_count()
  std::optional<StartMethod> start_method{};   // empty: get_start_method() at construction
  // Run once in every worker, replacements too (initializer.hpp): a function, or
  // mproc::Initializer(fn, args...). Under spawn and forkserver fn must be a task function.
  Initializer initializer{};
  std::size_t max_tasks_per_child = 0;         // 0: never replace for age
  std::chrono::milliseconds task_timeout{0};   // 0: none
  std::size_t memory_limit_bytes = 0;          // per worker; 0: none
  unsigned retries = 0;  // re-runs of a crashed or timed-out item, each on a fresh worker
  bool progress = false;                       // a bar on stderr for map-like calls (if a tty)
  bool progress_force = false;                 // draw it even when stderr is not a terminal
  ProgressCallback progress_callback{};        // called as map-like calls progress
  std::chrono::milliseconds kill_grace{100};   // SIGTERM → SIGKILL delay (terminate, timeouts)
  std::size_t max_message_size = std::size_t{1} << 30;  // per encoded input or result
  // Workers refuse files, sockets and exec once their initializer ran (sandbox.hpp).
  std::optional<Sandbox> sandbox{};
  // Built once in every worker, replacements too, after the initializer and before the sandbox;
  // tasks reach it with mproc::worker_state<T>() (worker_state.hpp).
  WorkerState worker_state{};
  // memory_limit_bytes as a hard limit in a memory cgroup per worker where this process may
  // make them (a delegated cgroup v2 subtree, a writable cgroup v1 memory cgroup); false: the
  // RLIMIT_AS limit only. Pool::memory_limit_mode() says which applies.
  bool memory_limit_cgroup = true;
  // Past this, the running item is asked to stop (soft_timeout.hpp: a std::stop_token last
  // parameter, mproc::stop_requested()); task_timeout still kills it later. 0: none. Must be
  // below task_timeout when that is set.
  std::chrono::milliseconds soft_timeout{0};
  // Where the input of an item that crashed its worker or timed out is saved, for
  // mproc::replay (replay.hpp). Empty: the MPROC_REPLAY_DIR environment variable, else off.
  std::filesystem::path replay_dir{};
};

namespace detail {

// Where the worker's invoker puts one item's encoded result.
class ResultSink {
 public:
  // A buffer of n bytes for the encoded result (in the channel when it fits).
  virtual std::span<std::byte> reserve(std::size_t n) = 0;
  // Publishes the first n bytes of the last reservation as the item's result.
  virtual void commit(std::size_t n) = 0;
  // The result of a fixed-size bitwise type: its `size` object bytes, gathered with the next
  // items' into one record (a crash still loses none of them: see src/pool/channel.hpp).
  virtual void put_packed(const void* value, std::size_t size) = 0;
  // The item's arguments are decoded; the call begins (for Pool::stats(): decode vs compute).
  virtual void decoded() {}

 protected:
  ~ResultSink() = default;
};

// Runs one item in the worker: decode `args`, call the function `fn` names, encode the result
// into `out`. Exceptions escape to the worker loop, which reports them as the item's error.
using ItemInvoker = void (*)(std::uintptr_t fn, std::span<const std::byte> args, ResultSink& out);

// What an invoker's `fn` word points to, in the worker, for a closure task: the closure's state
// as the chunk carried it (pool_batch.hpp fn_from_word rebuilds the closure from it).
struct ClosureBytes {
  const std::byte* data;
  std::size_t size;
};

// The fast path of a task whose argument and result are both fixed-size bitwise types: a whole
// run of items in one call, with no per-item dispatch. `out` has room for `count` results; the
// invoker records each item's start and finish in the two counters (read by the parent only if
// the worker dies), so a crash still costs exactly one item.
struct PackedRun {
  std::byte* out = nullptr;
  std::atomic<std::uint64_t>* items_started = nullptr;
  std::uint64_t started_base = 0;  // items_started before the run's first item
  std::atomic<std::uint32_t>* run_items = nullptr;
};
using ChunkInvoker = void (*)(std::uintptr_t fn, const std::byte* in, std::size_t count,
                              PackedRun& run);

// For a worker that does not share this process's memory (spawn): the remote_call message
// (remote_call.hpp) that names a call's invokers and function there (pool_batch.hpp).
using RemoteBinder = std::vector<std::byte> (*)(std::uintptr_t fn);

// Encoded inputs of consecutive items. Input index of item i (0-based in the segment) is
// first_index + i. Items of a fixed-size bitwise type are packed `stride` bytes apart; others
// are bytes[offsets[i], offsets[i+1]).
struct Segment {
  std::size_t first_index = 0;
  std::size_t stride = 0;  // > 0: packed items, offsets unused
  std::vector<std::byte> bytes{};
  std::vector<std::size_t> offsets{0};
  [[nodiscard]] std::size_t size() const noexcept {
    return stride != 0 ? bytes.size() / stride : offsets.size() - 1;
  }
  [[nodiscard]] std::size_t begin_of(std::size_t i) const noexcept {
    return stride != 0 ? i * stride : offsets[i];
  }
};

// What a replay file records of a call's types (pool_batch.hpp replay_types_of, replay.hpp).
struct ReplayTypes {
  static constexpr std::uint32_t kOne = 1;    // each item is one argument (map-like calls)
  static constexpr std::uint32_t kTuple = 2;  // each item is a tuple of arguments (starmap, apply)
  std::uint32_t kind = 0;                     // 0: unknown (nothing is saved)
  std::uint64_t args_fingerprint = 0;         // hash of the item type's name
  std::uint64_t closure_fingerprint = 0;      // hash of a closure task's type name; 0: none
  std::string_view args_name{};               // the item type's name (static storage)
};

// The receiver of one call's results. PoolCore calls on_value/on_error exactly once per item,
// with its lock held, from whichever thread drained the result.
class Batch {
 public:
  Batch(ItemInvoker invoker, std::uintptr_t fn, std::size_t chunksize);
  virtual ~Batch();
  Batch(const Batch&) = delete;
  Batch& operator=(const Batch&) = delete;

  // Decodes and stores item `index`'s result; a throw (DecodeError) becomes on_error.
  virtual void on_value(std::size_t index, std::span<const std::byte> bytes) = 0;
  virtual void on_error(std::size_t index, std::exception_ptr error) = 0;
  // `count` results of `stride` bytes each (packed), for items first_index...: stores them at
  // once and returns true, or returns false and the core calls on_value for each.
  virtual bool on_packed(std::size_t /*first_index*/, std::size_t /*count*/,
                         std::size_t /*stride*/, std::span<const std::byte> /*bytes*/) {
    return false;
  }

  // Enables the packed fast path (ChunkInvoker) for results of `result_stride` bytes.
  void set_chunk_invoker(ChunkInvoker ci, std::uint32_t result_stride) noexcept {
    chunk_invoker_ = ci;
    result_stride_ = result_stride;
  }
  [[nodiscard]] ChunkInvoker chunk_invoker() const noexcept { return chunk_invoker_; }
  // Makes the batch runnable by spawned workers; without a binder it runs under fork only.
  void set_remote_binder(RemoteBinder binder) noexcept { remote_binder_ = binder; }
  [[nodiscard]] RemoteBinder remote_binder() const noexcept { return remote_binder_; }
  [[nodiscard]] std::uint32_t result_stride() const noexcept { return result_stride_; }
  // A closure task's state (pool_batch.hpp), sent with every chunk of the call.
  void set_closure(std::vector<std::byte> bytes) noexcept { closure_ = std::move(bytes); }
  [[nodiscard]] std::span<const std::byte> closure() const noexcept { return closure_; }
  // For PoolOptions::replay_dir: the types a saved input is checked against.
  void set_replay_types(ReplayTypes t) noexcept { replay_types_ = t; }
  [[nodiscard]] const ReplayTypes& replay_types() const noexcept { return replay_types_; }
  [[nodiscard]] ItemInvoker invoker() const noexcept { return invoker_; }
  [[nodiscard]] std::uintptr_t fn() const noexcept { return fn_; }
  [[nodiscard]] std::size_t chunksize() const noexcept { return chunksize_; }
  // True for a batch whose consumer takes results one by one (imap): its waiter is woken for
  // each, a Future's only when the call finished.
  [[nodiscard]] virtual bool wants_each_result() const noexcept { return false; }

  struct Book;  // PoolCore's bookkeeping (src/pool), guarded by its lock
  [[nodiscard]] Book& book() noexcept { return *book_; }

 private:
  ItemInvoker invoker_;
  std::uintptr_t fn_;
  std::size_t chunksize_;  // 0: adaptive
  ChunkInvoker chunk_invoker_ = nullptr;
  std::uint32_t result_stride_ = 0;
  RemoteBinder remote_binder_ = nullptr;
  std::vector<std::byte> closure_{};
  ReplayTypes replay_types_{};
  std::unique_ptr<Book> book_;
};

// What a map-like call's waiter sees.
struct BatchProgress {
  std::size_t completed = 0;
  std::size_t failed = 0;
  bool finished = false;  // input closed and every item completed
};

// What a call's handles (mproc::Future, mproc::ImapRange) need of the engine that runs it:
// PoolCore on this machine, MpiCore across MPI ranks (mpi/pool.hpp).
class CallCore {
 public:
  virtual ~CallCore() = default;

  // Hands items to the workers (see PoolCore::submit).
  virtual void submit(const std::shared_ptr<Batch>& batch, std::shared_ptr<const Segment> items,
                      bool last, std::size_t expected = 0) = 0;
  // Waits until pred() (evaluated with the core's lock held) or the deadline; returns pred().
  // on_progress (optional) is called with the batch's counts on every wake-up.
  virtual bool wait(Batch& batch, const std::function<bool()>& pred,
                    std::optional<std::chrono::steady_clock::time_point> deadline,
                    const std::function<void(const BatchProgress&)>& on_progress = {}) = 0;
  [[nodiscard]] virtual BatchProgress progress(const Batch& batch) = 0;
  // The same, for a pred() passed to wait() (the lock is held there).
  [[nodiscard]] virtual BatchProgress progress_locked(const Batch& batch) const = 0;
  // The consumer of a streaming batch went away: drop its undispatched items; results of items
  // already running are discarded.
  virtual void abandon(Batch& batch) noexcept = 0;
  // Drops a batch's undispatched items, failing them with Cancelled. True if nothing of it had
  // reached a worker (the whole batch is cancelled).
  virtual bool cancel(Batch& batch) = 0;

  // The progress display of a streaming call (imap): nullptr when there is none.
  class Ticker {
   public:
    virtual ~Ticker() = default;
    virtual void update(std::size_t done, std::size_t failed) = 0;
    virtual void finish(bool ok) noexcept = 0;
  };
  [[nodiscard]] virtual std::unique_ptr<Ticker> start_progress(std::optional<std::size_t>) {
    return nullptr;
  }
};

class PoolCore final : public CallCore {
 public:
  explicit PoolCore(PoolOptions options);  // starts the supervisor and the workers
  ~PoolCore() override;                    // terminate() if still running
  PoolCore(const PoolCore&) = delete;
  PoolCore& operator=(const PoolCore&) = delete;

  [[nodiscard]] unsigned processes() const noexcept;
  [[nodiscard]] MemoryLimitMode memory_limit_mode() const noexcept;

  // Hands items to the workers. Throws PoolClosed after close()/terminate(), or the pool's
  // broken-state error (an initializer failed); with spawned workers, Error if the batch's
  // function cannot be named in them (a null function pointer, one outside every module).
  // `expected` (0: unknown) is the batch's whole item count, known before all of it is submitted;
  // it sizes the chunks.
  void submit(const std::shared_ptr<Batch>& batch, std::shared_ptr<const Segment> items,
              bool last, std::size_t expected = 0) override;

  // While waiting it helps: drains results, dispatches, spins briefly before sleeping.
  bool wait(Batch& batch, const std::function<bool()>& pred,
            std::optional<std::chrono::steady_clock::time_point> deadline,
            const std::function<void(const BatchProgress&)>& on_progress = {}) override;
  // wait() until the batch finished, drawing the pool's progress bar / calling its progress
  // callback (PoolOptions) on the way; `total` is the batch's item count.
  void wait_all(Batch& batch, std::optional<std::size_t> total);
  [[nodiscard]] BatchProgress progress(const Batch& batch) override;
  [[nodiscard]] BatchProgress progress_locked(const Batch& batch) const override;
  void abandon(Batch& batch) noexcept override;
  // The pool's bar or progress callback, when the options ask for one.
  [[nodiscard]] std::unique_ptr<Ticker> start_progress(std::optional<std::size_t> total) override;
  bool cancel(Batch& batch) override;

  void close();
  void join();
  void terminate();
  // Live workers' pids (for tests and statistics).
  [[nodiscard]] std::vector<int> worker_pids();
  // A snapshot of what the workers did (pool_stats.hpp); any thread, any time.
  [[nodiscard]] PoolStats stats();

 private:
  struct State;
  std::unique_ptr<State> s_;
};

}  // namespace detail
}  // namespace mproc
