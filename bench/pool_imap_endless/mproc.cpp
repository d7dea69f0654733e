// mproc: Pool(2).imap of tiny tasks over an endless input (std::views::iota(0)), the first 100k
// results consumed, then the range dropped (the rest abandoned), default chunksize.
#include <benchmark/benchmark.h>

#include <mproc/mproc.hpp>
#include <ranges>

namespace {

constexpr int kItems = 100'000;

int tiny(int x) { return x * 2 + 1; }

void BM_mproc_pool_imap_endless(benchmark::State& state) {
  mproc::Pool pool(2);
  benchmark::DoNotOptimize(pool.apply(tiny, 0));  // the workers are up before the clock starts
  long long sum = 0;
  for (auto _ : state) {
    int got = 0;
    for (int r : pool.imap(tiny, std::views::iota(0))) {
      sum += r;
      if (++got == kItems) break;
    }
  }
  benchmark::DoNotOptimize(sum);
  state.SetItemsProcessed(state.iterations() * kItems);
}
BENCHMARK(BM_mproc_pool_imap_endless)->Name("pool_imap_endless/mproc")->UseRealTime();

}  // namespace
