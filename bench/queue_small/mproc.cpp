// mproc: Queue<std::uint64_t> between two processes — a producer child puts as fast as it can,
// this process gets. Time per item received.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <mproc/mproc.hpp>

namespace {

constexpr int kBatch = 100'000;

void BM_mproc_queue_small(benchmark::State& state) {
  mproc::Queue<std::uint64_t> q;
  mproc::Process producer(mproc::ProcessOptions{.daemon = true}, [q]() mutable {
    try {
      for (std::uint64_t i = 0;; ++i) q.put(i);
    } catch (const mproc::Error&) {  // closed: the benchmark is over
    }
  });
  producer.start();
  std::uint64_t expect = 0;
  for (int i = 0; i < 1000; ++i) expect = q.get() + 1;  // the producer is running
  for (auto _ : state) {
    for (int i = 0; i < kBatch; ++i) {
      const std::uint64_t v = q.get();
      if (v != expect) state.SkipWithError("out of order");
      expect = v + 1;
    }
  }
  q.close();
  producer.join();
  state.SetItemsProcessed(state.iterations() * kBatch);
}
BENCHMARK(BM_mproc_queue_small)->Name("queue_small/mproc")->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace
