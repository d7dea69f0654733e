// mproc: Process start + join of a trivial task, under each start method. Its own main: spawn and
// forkserver need mproc::init first (a spawned child is this binary run again).
#include <benchmark/benchmark.h>

#include <mproc/mproc.hpp>

namespace {

void nothing() {}

void BM_process_startup(benchmark::State& state, mproc::StartMethod method) {
  for (auto _ : state) {
    mproc::Process p(mproc::ProcessOptions{.start_method = method}, nothing);
    p.start();
    p.join();
    if (p.exitcode() != 0) state.SkipWithError("the child failed");
  }
}
BENCHMARK_CAPTURE(BM_process_startup, fork, mproc::StartMethod::fork)
    ->Name("process_startup_fork/mproc")->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_process_startup, forkserver, mproc::StartMethod::forkserver)
    ->Name("process_startup_forkserver/mproc")->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_process_startup, spawn, mproc::StartMethod::spawn)
    ->Name("process_startup_spawn/mproc")->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace

int main(int argc, char** argv) {
  mproc::init(argc, argv);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
