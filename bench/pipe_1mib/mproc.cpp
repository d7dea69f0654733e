// mproc: Pipe large messages — request (a small int) and receive 1 MiB of raw bytes
// (send_bytes / recv_bytes) from an echo Process; bandwidth of the 1 MiB replies.
#include <benchmark/benchmark.h>

#include <cstddef>
#include <cstdint>
#include <mproc/mproc.hpp>
#include <vector>

namespace {

constexpr std::size_t kBytes = std::size_t{1} << 20;

void BM_mproc_pipe_1mib(benchmark::State& state) {
  auto [parent, child] = mproc::Pipe<int>();
  mproc::Process server(
      [](mproc::Connection<int>& c, mproc::Connection<int>& unused) {
        unused.close();
        std::vector<std::byte> payload(kBytes, std::byte{7});
        try {
          for (;;) {
            (void)c.recv();
            c.send_bytes(payload);
          }
        } catch (const mproc::EOFError&) {
        }
      },
      std::ref(child), std::ref(parent));
  server.start();
  child.close();
  std::vector<std::byte> in;
  parent.send(0);
  parent.recv_bytes_into(in);  // the server is up before the clock starts
  for (auto _ : state) {
    parent.send(1);
    if (parent.recv_bytes_into(in) != kBytes) state.SkipWithError("short message");
    benchmark::DoNotOptimize(in.data());
  }
  parent.close();  // the server sees EOF and exits
  server.join();
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(kBytes));
}
BENCHMARK(BM_mproc_pipe_1mib)->Name("pipe_1mib/mproc")->UseRealTime();

}  // namespace
