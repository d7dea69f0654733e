// mproc: Pool(2) construction + the first trivial apply + destruction (close + join), under each
// start method. Its own main: spawn and forkserver need mproc::init first.
#include <benchmark/benchmark.h>

#include <mproc/mproc.hpp>

namespace {

int plus_one(int x) { return x + 1; }

void BM_mproc_pool_startup(benchmark::State& state, mproc::StartMethod method) {
  int v = 0;
  for (auto _ : state) {
    mproc::Pool pool(mproc::PoolOptions{.processes = 2, .start_method = method});
    v = pool.apply(plus_one, v);
  }
  benchmark::DoNotOptimize(v);
}
BENCHMARK_CAPTURE(BM_mproc_pool_startup, fork, mproc::StartMethod::fork)
    ->Name("pool_startup_fork/mproc")->UseRealTime()->Unit(benchmark::kMillisecond)
    ->Iterations(30);
BENCHMARK_CAPTURE(BM_mproc_pool_startup, forkserver, mproc::StartMethod::forkserver)
    ->Name("pool_startup_forkserver/mproc")->UseRealTime()->Unit(benchmark::kMillisecond)
    ->Iterations(30);
BENCHMARK_CAPTURE(BM_mproc_pool_startup, spawn, mproc::StartMethod::spawn)
    ->Name("pool_startup_spawn/mproc")->UseRealTime()->Unit(benchmark::kMillisecond)
    ->Iterations(30);

}  // namespace

int main(int argc, char** argv) {
  mproc::init(argc, argv);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
