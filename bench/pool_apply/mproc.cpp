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

// What one Pool::stats() costs the caller (the workers pay nothing for it: their counters are
// always kept; that cost shows in pool_apply and pool_map_tiny against a build without stats).
void BM_mproc_pool_stats_read(benchmark::State& state) {
  mproc::Pool pool(2);
  int v = pool.apply(plus_one, 0);
  for (auto _ : state) {
    auto s = pool.stats();
    benchmark::DoNotOptimize(s.total.items_done);
  }
  benchmark::DoNotOptimize(v);
}
BENCHMARK(BM_mproc_pool_stats_read)->Name("pool_apply_stats_read/mproc")->UseRealTime();

}  // namespace
