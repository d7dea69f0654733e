// mproc: Pool(2) construction + the first trivial apply + destruction (close + join).
#include <benchmark/benchmark.h>

#include <mproc/mproc.hpp>

namespace {

int plus_one(int x) { return x + 1; }

void BM_mproc_pool_startup(benchmark::State& state) {
  int v = 0;
  for (auto _ : state) {
    mproc::Pool pool(2);
    v = pool.apply(plus_one, v);
  }
  benchmark::DoNotOptimize(v);
}
BENCHMARK(BM_mproc_pool_startup)
    ->Name("pool_startup/mproc")
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond)
    ->Iterations(30);

}  // namespace
