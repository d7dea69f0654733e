// mproc: Pipe<int> round trip (send + recv each way, framed and encoded) with an echo Process.
#include <benchmark/benchmark.h>

#include <mproc/mproc.hpp>

namespace {

void BM_mproc_pipe(benchmark::State& state) {
  auto [parent, child] = mproc::Pipe<int>();
  mproc::Process echo(
      [](mproc::Connection<int>& c) {
        try {
          for (;;) c.send(c.recv() + 1);
        } catch (const mproc::EOFError&) {
        }
      },
      std::ref(child));
  echo.start();
  child.close();
  int v = 0;
  for (auto _ : state) {
    parent.send(v);
    v = parent.recv();
  }
  parent.close();  // the echo child sees EOF and exits
  echo.join();
  benchmark::DoNotOptimize(v);
}
BENCHMARK(BM_mproc_pipe)->Name("pipe_pingpong/mproc")->UseRealTime();

}  // namespace
