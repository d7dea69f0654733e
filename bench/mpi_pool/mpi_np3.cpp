// mproc::mpi::Pool under `mpirun -np 3` (two worker ranks, one local worker each), with the
// same workloads as mproc.cpp; and the main that starts the pool on every rank.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <numeric>
#include <vector>

#include "../pool_cpu_bound/spin.hpp"
#include "workloads.hpp"

namespace bench {
namespace {
mproc::mpi::Pool* g_pool = nullptr;
}
mproc::mpi::Pool& mpi_pool() { return *g_pool; }
}  // namespace bench

namespace {

void BM_mpi_map_tiny(benchmark::State& state) {
  std::vector<int> inputs(bench::kTinyItems);
  std::iota(inputs.begin(), inputs.end(), 0);
  for (auto _ : state) {
    auto out = bench::mpi_pool().map(bench::tiny, inputs);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations() * bench::kTinyItems);
}
BENCHMARK(BM_mpi_map_tiny)->Name("mpi_map_tiny/mpi_np3")->UseRealTime();

void BM_mpi_cpu_bound(benchmark::State& state) {
  std::vector<std::uint64_t> items(bench::kCpuItems, bench::calibrated_rounds());
  auto& pool = bench::mpi_pool();
  benchmark::DoNotOptimize(pool.map(bench::spin, std::vector<std::uint64_t>{1, 1}));
  const double serial = bench::serial_seconds(items);
  const auto t0 = std::chrono::steady_clock::now();
  for (auto _ : state) {
    auto out = pool.map(bench::spin, items);
    benchmark::DoNotOptimize(out.data());
  }
  const double per_map = bench::seconds_since(t0) / static_cast<double>(state.iterations());
  state.counters["efficiency"] = serial / (per_map * pool.processes());
}
BENCHMARK(BM_mpi_cpu_bound)
    ->Name("mpi_cpu_bound/mpi_np3")
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond)
    ->Iterations(3);

}  // namespace

int main(int argc, char** argv) {
  mproc::mpi::Pool pool(argc, argv);  // ranks 1..N-1 serve here and exit
  bench::g_pool = &pool;
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
