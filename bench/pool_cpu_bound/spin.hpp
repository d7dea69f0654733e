// The work item of pool_cpu_bound: spin(rounds) burns CPU on a dependent integer recurrence the
// compiler cannot shorten (no sleeping: the point is CPU), and calibrated_rounds() finds the
// rounds that take ~50 ms on this machine.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <vector>

namespace bench {

constexpr int kCpuItems = 8;
constexpr std::chrono::milliseconds kCpuItemTime{50};

[[gnu::noinline]] inline std::uint64_t spin(std::uint64_t rounds) {
  std::uint64_t x = rounds;
  for (std::uint64_t i = 0; i < rounds; ++i) {
    x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    x ^= x >> 29;
  }
  return x;
}

[[nodiscard]] inline double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

[[nodiscard]] inline std::uint64_t calibrated_rounds() {
  constexpr std::uint64_t kProbe = 1 << 22;
  double best = 1e9;
  for (int i = 0; i < 5; ++i) {  // the fastest probe: the least disturbed by other processes
    auto t0 = std::chrono::steady_clock::now();
    volatile std::uint64_t sink = spin(kProbe);
    (void)sink;
    best = std::min(best, seconds_since(t0));
  }
  return static_cast<std::uint64_t>(kProbe * std::chrono::duration<double>(kCpuItemTime).count() /
                                    best);
}

// Seconds to run every item in this process, one after another.
[[nodiscard]] inline double serial_seconds(const std::vector<std::uint64_t>& items) {
  auto t0 = std::chrono::steady_clock::now();
  for (auto rounds : items) {
    volatile std::uint64_t sink = spin(rounds);
    (void)sink;
  }
  return seconds_since(t0);
}

}  // namespace bench
