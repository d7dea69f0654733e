// The parent's side of Pool::stats() (pool_stats.hpp): StatsAccum sums what one worker process,
// or a slot's processes so far, did: the outcomes and bytes the parent counts as it handles the
// worker's answers, plus the times and item-time histogram the worker counted in its status page
// (worker_counters.hpp).
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <string>

#include "mproc/pool_stats.hpp"
#include "pool/worker_counters.hpp"

namespace mproc::pool {

struct StatsAccum {
  std::uint64_t items_done = 0;
  FailedItems failed{};
  std::uint64_t recycles = 0;
  std::uint64_t crashes = 0;
  std::map<int, std::uint64_t> crashes_by_signal{};
  std::uint64_t bytes_in = 0;
  std::uint64_t bytes_out = 0;
  std::uint64_t compute_ns = 0;
  std::uint64_t codec_ns = 0;
  std::uint64_t wait_ns = 0;
  std::array<std::uint64_t, kTimeBuckets> buckets{};

  StatsAccum& operator+=(const StatsAccum& o);
  // What happened since `earlier`, an older snapshot of the same workers.
  StatsAccum& operator-=(const StatsAccum& earlier);
  // Adds what a worker counted in its status page (relaxed reads: a snapshot of each field).
  void add(const WorkerCounters& c);
  // A crash, by signal (< 0: -signal, as the pool's wait statuses) or exit code.
  void add_crash(int status);
  // The public figures (pid and rss_bytes are the caller's to fill).
  [[nodiscard]] WorkerStats to_stats() const;
};

// The time at fraction p (0 < p <= 1) of the items in a histogram: the midpoint of the bucket
// holding it (0 if empty).
[[nodiscard]] std::uint64_t percentile_ns(const std::array<std::uint64_t, kTimeBuckets>& buckets,
                                          double p) noexcept;

// The progress bar's last line for one call (`d`: the pool's totals after it minus before):
// "mproc: 398 done, 2 failed (1 raised, 1 crashed) · item p50 1.1 ms, p95 1.9 ms · compute 92%,
// codec 1%, wait 7% · crashes: SIGSEGV · 2 recycles".
[[nodiscard]] std::string summary_line(const StatsAccum& d);

}  // namespace mproc::pool
