// mproc: Pool(2).map of tasks that each take ~0, 1, 10, 100, 1000 us (busy-wait), default
// chunksize: throughput versus task duration (the plot's mproc line).
#include <benchmark/benchmark.h>

#include <mproc/mproc.hpp>
#include <numeric>
#include <string>
#include <vector>

#include "work.hpp"

namespace {

template <int US>
void BM_mproc_map_work(benchmark::State& state) {
  std::vector<int> inputs(bench::work_items(US));
  std::iota(inputs.begin(), inputs.end(), 0);
  mproc::Pool pool(2);
  benchmark::DoNotOptimize(pool.apply(bench::work<0>, 0));  // the workers are up first
  for (auto _ : state) {
    auto out = pool.map(bench::work<US>, inputs);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(inputs.size()));
}
BENCHMARK(BM_mproc_map_work<0>)->Name("pool_map_work_0us/mproc")->UseRealTime();
BENCHMARK(BM_mproc_map_work<1>)->Name("pool_map_work_1us/mproc")->UseRealTime();
BENCHMARK(BM_mproc_map_work<10>)->Name("pool_map_work_10us/mproc")->UseRealTime();
BENCHMARK(BM_mproc_map_work<100>)->Name("pool_map_work_100us/mproc")->UseRealTime();
BENCHMARK(BM_mproc_map_work<1000>)->Name("pool_map_work_1000us/mproc")->UseRealTime();

}  // namespace
