// mproc: Pipe<int> round trip (send + recv each way, framed and encoded) with an echo Process.
#include <benchmark/benchmark.h>

#include <mproc/mproc.hpp>

namespace {

void BM_mproc_pipe(benchmark::State& state) {
  auto [parent, child] = mproc::Pipe<int>();
  // As in Python, the child closes the end it does not use, or it would never see EOF.
  mproc::Process echo(
      [](mproc::Connection<int>& c, mproc::Connection<int>& unused) {
        unused.close();
        try {
          for (;;) c.send(c.recv() + 1);
        } catch (const mproc::EOFError&) {
        }
      },
      std::ref(child), std::ref(parent));
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
