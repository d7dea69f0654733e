// What a pool worker counts about itself for Pool::stats() (pool_stats.hpp), in its channel's
// status page (channel.hpp): times and a log histogram of item times. Only the worker writes
// (relaxed load + store: one writer, so no read-modify-write is needed); the parent reads them
// whenever it likes, also after the worker died. Item outcomes and bytes are the parent's to
// count: it sees every answer anyway.
#pragma once

#include <algorithm>
#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>

#include "pool/ring.hpp"

namespace mproc::pool {

// Item-time buckets: exact below 8 ns, then 8 per power of two (bucket width 1/8 of its lower
// bound), up to 2^43 ns (2.4 h); longer items land in the last bucket.
inline constexpr unsigned kSubBuckets = 8;
inline constexpr unsigned kMaxExponent = 42;
inline constexpr std::size_t kTimeBuckets = kSubBuckets * (kMaxExponent - 1);

[[nodiscard]] constexpr std::size_t time_bucket(std::uint64_t ns) noexcept {
  if (ns < kSubBuckets) return static_cast<std::size_t>(ns);
  const unsigned e = static_cast<unsigned>(std::bit_width(ns)) - 1;  // >= 3
  if (e > kMaxExponent) return kTimeBuckets - 1;
  return kSubBuckets * (e - 2) + static_cast<std::size_t>((ns >> (e - 3)) & (kSubBuckets - 1));
}
// The smallest time in bucket b; the bucket ends where b + 1 begins.
[[nodiscard]] constexpr std::uint64_t time_bucket_floor(std::size_t b) noexcept {
  if (b < kSubBuckets) return b;
  const std::size_t e = b / kSubBuckets + 2;
  return (std::uint64_t{kSubBuckets} + b % kSubBuckets) << (e - 3);
}
static_assert(time_bucket(7) == 7 && time_bucket(8) == 8 && time_bucket(15) == 15);
static_assert(time_bucket(16) == 16 && time_bucket(17) == 16 && time_bucket(18) == 17);
static_assert(time_bucket_floor(time_bucket(1'000'000)) <= 1'000'000 &&
              time_bucket_floor(time_bucket(1'000'000) + 1) > 1'000'000);
static_assert(time_bucket(std::uint64_t{1} << 50) == kTimeBuckets - 1);

struct WorkerCounters {
  alignas(kCacheLine) std::atomic<std::uint64_t> compute_ns{0};
  std::atomic<std::uint64_t> codec_ns{0};
  std::atomic<std::uint64_t> wait_ns{0};
  std::atomic<std::uint64_t> buckets[kTimeBuckets]{};  // items by time_bucket(ns)
};

// The worker's update (it is the only writer).
inline void bump(std::atomic<std::uint64_t>& counter, std::uint64_t by) noexcept {
  counter.store(counter.load(std::memory_order_relaxed) + by, std::memory_order_relaxed);
}
inline void add_time(std::atomic<std::uint64_t>& counter, std::int64_t ns) noexcept {
  if (ns > 0) bump(counter, static_cast<std::uint64_t>(ns));
}
// `items` items that took `ns` each.
inline void add_items(WorkerCounters& c, std::int64_t ns, std::uint64_t items) noexcept {
  bump(c.buckets[time_bucket(static_cast<std::uint64_t>(std::max<std::int64_t>(ns, 0)))], items);
}

}  // namespace mproc::pool
