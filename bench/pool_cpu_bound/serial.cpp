// Anchor: the same 8 CPU-bound items (~50 ms each) run one after another in this process.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <vector>

#include "spin.hpp"

namespace {

void BM_serial_cpu_bound(benchmark::State& state) {
  std::vector<std::uint64_t> items(bench::kCpuItems, bench::calibrated_rounds());
  for (auto _ : state) benchmark::DoNotOptimize(bench::serial_seconds(items));
}
BENCHMARK(BM_serial_cpu_bound)
    ->Name("pool_cpu_bound/serial")
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond)
    ->Iterations(2);

}  // namespace
