#include "pool/stats.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "sys/signal_name.hpp"

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

namespace {
// (Saturating: a worker the pool lost track of, after its supervisor failed, drops out of the
// totals.)
void sub(std::uint64_t& a, std::uint64_t b) noexcept { a = a > b ? a - b : 0; }
}  // namespace

StatsAccum& StatsAccum::operator-=(const StatsAccum& e) {
  sub(items_done, e.items_done);
  sub(failed.remote_error, e.failed.remote_error);
  sub(failed.crashed, e.failed.crashed);
  sub(failed.timed_out, e.failed.timed_out);
  sub(failed.cancelled, e.failed.cancelled);
  sub(recycles, e.recycles);
  sub(crashes, e.crashes);
  for (const auto& [sig, n] : e.crashes_by_signal) {
    auto it = crashes_by_signal.find(sig);
    if (it == crashes_by_signal.end()) continue;
    sub(it->second, n);
    if (it->second == 0) crashes_by_signal.erase(it);
  }
  sub(bytes_in, e.bytes_in);
  sub(bytes_out, e.bytes_out);
  sub(compute_ns, e.compute_ns);
  sub(codec_ns, e.codec_ns);
  sub(wait_ns, e.wait_ns);
  for (std::size_t b = 0; b < kTimeBuckets; ++b) sub(buckets[b], e.buckets[b]);
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

namespace {
std::string duration_text(std::uint64_t ns) {
  char buf[32];
  const double v = static_cast<double>(ns);
  if (ns < 1'000) {
    std::snprintf(buf, sizeof buf, "%llu ns", static_cast<unsigned long long>(ns));
  } else if (ns < 1'000'000) {
    std::snprintf(buf, sizeof buf, "%.3g us", v / 1e3);
  } else if (ns < 1'000'000'000) {
    std::snprintf(buf, sizeof buf, "%.3g ms", v / 1e6);
  } else {
    std::snprintf(buf, sizeof buf, "%.3g s", v / 1e9);
  }
  return buf;
}
}  // namespace

std::string summary_line(const StatsAccum& d) {
  std::string out = "mproc: " + std::to_string(d.items_done) + " done";
  if (const auto f = d.failed.total(); f != 0) {
    out += ", " + std::to_string(f) + " failed (";
    const char* sep = "";
    auto part = [&](std::uint64_t n, const char* what) {
      if (n == 0) return;
      out += sep + std::to_string(n) + " " + what;
      sep = ", ";
    };
    part(d.failed.remote_error, "raised");
    part(d.failed.crashed, "crashed");
    part(d.failed.timed_out, "timed out");
    part(d.failed.cancelled, "cancelled");
    out += ")";
  }
  out += " · item p50 " + duration_text(percentile_ns(d.buckets, 0.5)) + ", p95 " +
         duration_text(percentile_ns(d.buckets, 0.95));
  const double busy = static_cast<double>(d.compute_ns + d.codec_ns + d.wait_ns);
  if (busy > 0) {
    char buf[96];
    std::snprintf(buf, sizeof buf, " · compute %.0f%%, codec %.0f%%, wait %.0f%%",
                  100.0 * static_cast<double>(d.compute_ns) / busy,
                  100.0 * static_cast<double>(d.codec_ns) / busy,
                  100.0 * static_cast<double>(d.wait_ns) / busy);
    out += buf;
  }
  if (d.crashes != 0) {
    out += " · crashes:";
    for (const auto& [sig, n] : d.crashes_by_signal) {
      out += " " + sys::signal_name(sig) + (n > 1 ? " x" + std::to_string(n) : "");
    }
    const std::uint64_t by_exit = d.crashes - [&] {
      std::uint64_t s = 0;
      for (const auto& [sig, n] : d.crashes_by_signal) s += n;
      return s;
    }();
    if (by_exit != 0) out += " exit x" + std::to_string(by_exit);
  }
  if (d.recycles != 0) {
    out += " · " + std::to_string(d.recycles) + (d.recycles == 1 ? " recycle" : " recycles");
  }
  return out;
}

}  // namespace mproc::pool
