// mproc: Pool(2), the reference of both workloads (see workloads.hpp).
#include <benchmark/benchmark.h>

#include <cstdint>
#include <mproc/pool.hpp>
#include <numeric>
#include <vector>

#include "../pool_cpu_bound/spin.hpp"
#include "workloads.hpp"

namespace {

void BM_mproc_map_tiny(benchmark::State& state) {
  std::vector<int> inputs(bench::kTinyItems);
  std::iota(inputs.begin(), inputs.end(), 0);
  mproc::Pool pool(2);
  for (auto _ : state) {
    auto out = pool.map(bench::tiny, inputs);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations() * bench::kTinyItems);
}
BENCHMARK(BM_mproc_map_tiny)->Name("mpi_map_tiny/mproc")->UseRealTime();

void BM_mproc_cpu_bound(benchmark::State& state) {
  std::vector<std::uint64_t> items(bench::kCpuItems, bench::calibrated_rounds());
  mproc::Pool pool(2);
  benchmark::DoNotOptimize(pool.apply(bench::spin, std::uint64_t{1}));  // workers up first
  const double serial = bench::serial_seconds(items);
  const auto t0 = std::chrono::steady_clock::now();
  for (auto _ : state) {
    auto out = pool.map(bench::spin, items);
    benchmark::DoNotOptimize(out.data());
  }
  const double per_map = bench::seconds_since(t0) / static_cast<double>(state.iterations());
  state.counters["efficiency"] = serial / (per_map * 2);
}
BENCHMARK(BM_mproc_cpu_bound)
    ->Name("mpi_cpu_bound/mproc")
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond)
    ->Iterations(3);

}  // namespace
