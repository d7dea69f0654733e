// mproc: the per-item overhead of Pool(N).map of 100k tiny tasks (default chunksize) for N = 2,
// 4, ..., 64 workers — on this machine oversubscribed (more workers than cores), a simulation of
// a wider machine. bench/report.py shows it as ns per item (wall time of one map / 100k) and says
// in its notes what it can and cannot show.
#include <benchmark/benchmark.h>

#include <mproc/mproc.hpp>
#include <numeric>
#include <string>
#include <vector>

namespace {

constexpr int kItems = 100'000;

int tiny(int x) { return x * 2 + 1; }

void BM_mproc_map_scaling(benchmark::State& state, unsigned workers) {
  std::vector<int> inputs(kItems);
  std::iota(inputs.begin(), inputs.end(), 0);
  mproc::Pool pool(workers);
  benchmark::DoNotOptimize(pool.map(tiny, inputs));  // every worker is up before the clock
  for (auto _ : state) {
    auto out = pool.map(tiny, inputs);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations() * kItems);
}

[[maybe_unused]] const bool registered = [] {
  for (unsigned n : {2u, 4u, 8u, 16u, 32u, 64u}) {
    benchmark::RegisterBenchmark(("pool_map_scaling_w" + std::to_string(n) + "/mproc").c_str(),
                                 BM_mproc_map_scaling, n)
        ->UseRealTime();
  }
  return true;
}();

}  // namespace
