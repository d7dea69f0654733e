// Anchor: the floor for moving a 1 MiB result — one memcpy of 1 MiB between two buffers already
// mapped, no process boundary. (Copying into a fresh vector each time measures the same here:
// malloc hands the same warm block back.)
#include <benchmark/benchmark.h>

#include <cstddef>
#include <cstring>
#include <vector>

namespace {

constexpr std::size_t kBytes = std::size_t{1} << 20;

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
BENCHMARK(BM_raw_memcpy_1mib)->Name("pool_result_1mib/raw_memcpy")->UseRealTime();

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
BENCHMARK(BM_raw_memcpy_64mib)->Name("pool_result_1mib/raw_memcpy_64mib")->UseRealTime();

}  // namespace
