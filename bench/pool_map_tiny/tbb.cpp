// Anchor: oneTBB (Debian's libtbb-dev) parallel_for over the same 100k items in an arena of 2
// threads, auto partitioner, into a fresh result vector as map returns.
#include <benchmark/benchmark.h>
#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>

#include <numeric>
#include <vector>

namespace {

constexpr int kItems = 100'000;

int tiny(int x) { return x * 2 + 1; }

void BM_tbb_map_tiny(benchmark::State& state) {
  std::vector<int> inputs(kItems);
  std::iota(inputs.begin(), inputs.end(), 0);
  tbb::task_arena arena(2);
  int (*f)(int) = tiny;
  benchmark::DoNotOptimize(f);
  for (auto _ : state) {
    std::vector<int> out(inputs.size());
    arena.execute([&] {
      tbb::parallel_for(tbb::blocked_range<std::size_t>(0, inputs.size()),
                        [&](const tbb::blocked_range<std::size_t>& r) {
                          for (std::size_t i = r.begin(); i != r.end(); ++i) out[i] = f(inputs[i]);
                        });
    });
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations() * kItems);
}
BENCHMARK(BM_tbb_map_tiny)->Name("pool_map_tiny/tbb")->UseRealTime();

}  // namespace
