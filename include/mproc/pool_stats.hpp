// mproc/pool_stats.hpp — what a Pool's workers did: Pool::stats() (pool.hpp).
//
//   mproc::PoolStats s = pool.stats();
//   std::cout << s.total.items_done << " items, p95 " << s.total.item_time_p95.count() << " ns\n";
//   for (const auto& w : s.workers) std::cout << w.pid << " " << w.rss_bytes << "\n";
//
// A snapshot, always on: each worker keeps its figures in its shared-memory status page with
// relaxed stores (clock reads per chunk and per sampled item, or per run of items on the packed
// fast path), the pool
// adds what it sees of each item's outcome and bytes; stats() reads them, under the pool's lock,
// from any thread, during a call or after join(). workers[i] is the slot of worker_id() i
// (0..processes-1): a worker that is replaced (recycled, crashed, timed out) hands its id to its
// replacement, and the slot keeps the sum over all the processes that held it. Counts are per
// attempt: an item that crashed and was retried (PoolOptions::retries) counts as crashed in one
// slot and as done (or failed) in another.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <vector>

namespace mproc {

// Items that did not give a value, by why.
struct FailedItems {
  std::uint64_t remote_error = 0;  // the task threw (RemoteError)
  std::uint64_t crashed = 0;       // the worker died during it (WorkerCrashed)
  std::uint64_t timed_out = 0;     // past task_timeout, or stopped by soft_timeout (TaskTimeout)
  std::uint64_t cancelled = 0;     // sent to the worker, then failed by terminate() (Cancelled)
  [[nodiscard]] std::uint64_t total() const noexcept {
    return remote_error + crashed + timed_out + cancelled;
  }
};

// One worker slot, or (PoolStats::total) all of them.
struct WorkerStats {
  int pid = 0;                   // the slot's live worker; 0 if none (in total: always 0)
  std::size_t rss_bytes = 0;     // its resident set now (/proc/<pid>/statm); 0 if none
  std::uint64_t items_done = 0;  // answered with a value
  FailedItems items_failed{};
  std::uint64_t recycles = 0;  // workers retired for max_tasks_per_child (or memory_limit_bytes)
  std::uint64_t crashes = 0;   // workers that died on their own (signal or exit, OOM kill)
  std::map<int, std::uint64_t> crashes_by_signal{};  // signal number → crashes it caused
  // Time in the worker: running tasks; decoding arguments and encoding results (the packed fast
  // path counts as computing); waiting for work between chunks, or for room for its results.
  std::chrono::nanoseconds compute_time{0};
  std::chrono::nanoseconds codec_time{0};
  std::chrono::nanoseconds wait_time{0};
  std::uint64_t bytes_in = 0;   // sent to the worker: chunks (items, headers), call names
  std::uint64_t bytes_out = 0;  // received from it: encoded results and errors
  // Item time (decode + call + encode), from a log histogram with 8 buckets per power of two:
  // within ±6.25% of the true percentile. Items are timed one by one when they take 20 µs or
  // more; shorter ones one in 16 (and each chunk's first), the others as their chunk's mean; on
  // the packed fast path, as their run's mean. The codec/compute split of the items not timed
  // one by one follows the timed ones'. 0 before any item.
  std::chrono::nanoseconds item_time_p50{0};
  std::chrono::nanoseconds item_time_p95{0};
  // Items behind the percentiles: those answered, less the untimed ones of a chunk a crash cut
  // short.
  std::uint64_t items_timed = 0;
};

struct PoolStats {
  std::vector<WorkerStats> workers{};  // one per slot, 0..processes-1
  WorkerStats total{};  // their sum (rss_bytes: of the live workers); percentiles of all items
};

}  // namespace mproc
