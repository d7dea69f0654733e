// Anchors: the floor for moving 1 MiB — one memcpy of 1 MiB, no process boundary. Two of them:
// "raw_memcpy" copies between two buffers that stay in cache (the best case), "raw_memcpy_cold"
// walks 1 MiB slices of two 64 MiB buffers, so every copy comes from and goes to memory, as a
// queue's ring of several MiB does.
#include <benchmark/benchmark.h>

#include <cstddef>
#include <cstring>
#include <vector>

namespace {

constexpr std::size_t kBytes = std::size_t{1} << 20;
constexpr std::size_t kCold = std::size_t{64} << 20;

void BM_raw_memcpy_1mib(benchmark::State& state) {
  std::vector<std::byte> src(kBytes, std::byte{1});
  std::vector<std::byte> dst(kBytes);
  for (auto _ : state) {
    std::memcpy(dst.data(), src.data(), kBytes);
    benchmark::ClobberMemory();
  }
  benchmark::DoNotOptimize(dst.data());
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(kBytes));
}
BENCHMARK(BM_raw_memcpy_1mib)->Name("queue_1mib/raw_memcpy")->UseRealTime();

void BM_raw_memcpy_cold(benchmark::State& state) {
  std::vector<std::byte> src(kCold, std::byte{1});
  std::vector<std::byte> dst(kCold, std::byte{0});
  std::size_t at = 0;
  for (auto _ : state) {
    std::memcpy(dst.data() + at, src.data() + at, kBytes);
    benchmark::ClobberMemory();
    at = (at + kBytes) % kCold;
  }
  benchmark::DoNotOptimize(dst.data());
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(kBytes));
}
BENCHMARK(BM_raw_memcpy_cold)->Name("queue_1mib/raw_memcpy_cold")->UseRealTime();

// The memcpy limit as the issue states it: whole 64 MiB blocks, each copy from and to memory.
void BM_raw_memcpy_64mib(benchmark::State& state) {
  constexpr std::size_t kBlock64 = std::size_t{64} << 20;
  std::vector<std::byte> src(kBlock64, std::byte{1});
  std::vector<std::byte> dst(kBlock64, std::byte{0});
  for (auto _ : state) {
    std::memcpy(dst.data(), src.data(), kBlock64);
    benchmark::ClobberMemory();
  }
  benchmark::DoNotOptimize(dst.data());
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(kBlock64));
}
BENCHMARK(BM_raw_memcpy_64mib)->Name("queue_1mib/raw_memcpy_64mib")->UseRealTime();

}  // namespace
