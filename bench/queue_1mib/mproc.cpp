// mproc: Queue<std::vector<std::byte>> of 1 MiB items between two processes — a producer child
// puts, this process gets. Bandwidth of items received.
#include <benchmark/benchmark.h>

#include <cstddef>
#include <mproc/mproc.hpp>
#include <vector>

namespace {

constexpr std::size_t kBytes = std::size_t{1} << 20;

void BM_mproc_queue_1mib(benchmark::State& state) {
  mproc::Queue<std::vector<std::byte>> q;
  mproc::Process producer(mproc::ProcessOptions{.daemon = true}, [q]() mutable {
    const std::vector<std::byte> item(kBytes, std::byte{7});
    try {
      for (;;) q.put(item);
    } catch (const mproc::Error&) {  // closed: the benchmark is over
    }
  });
  producer.start();
  for (int i = 0; i < 10; ++i) benchmark::DoNotOptimize(q.get());  // the producer is running
  for (auto _ : state) {
    auto item = q.get();
    if (item.size() != kBytes) state.SkipWithError("wrong size");
    benchmark::DoNotOptimize(item.data());
  }
  q.close();
  producer.join();
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(kBytes));
}
BENCHMARK(BM_mproc_queue_1mib)->Name("queue_1mib/mproc")->UseRealTime();

}  // namespace
