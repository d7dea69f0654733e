#include "pool/stats.hpp"

#include <algorithm>
#include <cmath>

namespace mproc::pool {

StatsAccum& StatsAccum::operator+=(const StatsAccum& o) {
  items_done += o.items_done;
  failed.remote_error += o.failed.remote_error;
  failed.crashed += o.failed.crashed;
  failed.timed_out += o.failed.timed_out;
  failed.cancelled += o.failed.cancelled;
  recycles += o.recycles;
  crashes += o.crashes;
  for (const auto& [sig, n] : o.crashes_by_signal) crashes_by_signal[sig] += n;
  bytes_in += o.bytes_in;
  bytes_out += o.bytes_out;
  compute_ns += o.compute_ns;
  codec_ns += o.codec_ns;
  wait_ns += o.wait_ns;
  for (std::size_t b = 0; b < kTimeBuckets; ++b) buckets[b] += o.buckets[b];
  return *this;
}

void StatsAccum::add(const WorkerCounters& c) {
  compute_ns += c.compute_ns.load(std::memory_order_relaxed);
  codec_ns += c.codec_ns.load(std::memory_order_relaxed);
  wait_ns += c.wait_ns.load(std::memory_order_relaxed);
  for (std::size_t b = 0; b < kTimeBuckets; ++b) {
    buckets[b] += c.buckets[b].load(std::memory_order_relaxed);
  }
}

void StatsAccum::add_crash(int status) {
  ++crashes;
  if (status < 0) ++crashes_by_signal[-status];
}

std::uint64_t percentile_ns(const std::array<std::uint64_t, kTimeBuckets>& buckets,
                            double p) noexcept {
  std::uint64_t total = 0;
  for (auto n : buckets) total += n;
  if (total == 0) return 0;
  const auto rank = std::max<std::uint64_t>(
      1, static_cast<std::uint64_t>(std::ceil(p * static_cast<double>(total))));
  std::uint64_t seen = 0;
  for (std::size_t b = 0; b < kTimeBuckets; ++b) {
    seen += buckets[b];
    if (seen >= rank) {
      const std::uint64_t lo = time_bucket_floor(b);
      const std::uint64_t hi = b + 1 < kTimeBuckets ? time_bucket_floor(b + 1) : 2 * lo;
      return lo + (hi - lo - 1) / 2;
    }
  }
  return time_bucket_floor(kTimeBuckets - 1);
}

WorkerStats StatsAccum::to_stats() const {
  WorkerStats s;
  s.items_done = items_done;
  s.items_failed = failed;
  s.recycles = recycles;
  s.crashes = crashes;
  s.crashes_by_signal = crashes_by_signal;
  s.compute_time = std::chrono::nanoseconds(compute_ns);
  s.codec_time = std::chrono::nanoseconds(codec_ns);
  s.wait_time = std::chrono::nanoseconds(wait_ns);
  s.bytes_in = bytes_in;
  s.bytes_out = bytes_out;
  for (auto n : buckets) s.items_timed += n;
  s.item_time_p50 = std::chrono::nanoseconds(percentile_ns(buckets, 0.50));
  s.item_time_p95 = std::chrono::nanoseconds(percentile_ns(buckets, 0.95));
  return s;
}

}  // namespace mproc::pool
