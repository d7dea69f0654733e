// mproc: Pool(2).apply round trip of a trivial int -> int function.
#include <benchmark/benchmark.h>

#include <mproc/mproc.hpp>

namespace {

int plus_one(int x) { return x + 1; }

void BM_mproc_pool_apply(benchmark::State& state) {
  mproc::Pool pool(2);
  int v = pool.apply(plus_one, 0);  // the workers are up before the clock starts
  for (auto _ : state) v = pool.apply(plus_one, v);
  benchmark::DoNotOptimize(v);
}
BENCHMARK(BM_mproc_pool_apply)->Name("pool_apply/mproc")->UseRealTime();

}  // namespace
