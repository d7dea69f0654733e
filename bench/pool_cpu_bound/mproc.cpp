// mproc: Pool(2).map of 8 CPU-bound items (~50 ms each, default chunksize). The counter
// "efficiency" = serial time / (pool time * 2 workers): 1.0 is perfect scaling.
#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdint>
#include <mproc/mproc.hpp>
#include <vector>

#include "spin.hpp"

namespace {

void BM_mproc_pool_cpu_bound(benchmark::State& state) {
  std::vector<std::uint64_t> items(bench::kCpuItems, bench::calibrated_rounds());
  mproc::Pool pool(2);
  benchmark::DoNotOptimize(pool.apply(bench::spin, std::uint64_t{1}));  // workers up first
  double serial = bench::serial_seconds(items);
  auto t0 = std::chrono::steady_clock::now();
  for (auto _ : state) {
    auto out = pool.map(bench::spin, items);
    benchmark::DoNotOptimize(out.data());
  }
  double per_map = bench::seconds_since(t0) / static_cast<double>(state.iterations());
  state.counters["efficiency"] = serial / (per_map * 2);
}
BENCHMARK(BM_mproc_pool_cpu_bound)
    ->Name("pool_cpu_bound/mproc")
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond)
    ->Iterations(3);

}  // namespace
