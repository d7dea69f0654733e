// mproc: Pool(2).map of 100k tiny int -> int tasks with the default chunksize.
#include <benchmark/benchmark.h>

#include <mproc/mproc.hpp>
#include <numeric>
#include <vector>

namespace {

constexpr int kItems = 100'000;

int tiny(int x) { return x * 2 + 1; }

void BM_mproc_pool_map_tiny(benchmark::State& state) {
  std::vector<int> inputs(kItems);
  std::iota(inputs.begin(), inputs.end(), 0);
  mproc::Pool pool(2);
  for (auto _ : state) {
    auto out = pool.map(tiny, inputs);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations() * kItems);
}
BENCHMARK(BM_mproc_pool_map_tiny)->Name("pool_map_tiny/mproc")->UseRealTime();

}  // namespace
