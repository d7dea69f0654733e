// Anchor: the same map on a mutex + condvar pool of 2 threads, chunked as Python chunks (four
// chunks per worker): what the work costs with no process boundary.
#include "../support/thread_pool.hpp"

#include <benchmark/benchmark.h>

#include <numeric>
#include <vector>

namespace {

constexpr int kItems = 100'000;

int tiny(int x) { return x * 2 + 1; }

void BM_thread_pool_map_tiny(benchmark::State& state) {
  std::vector<int> inputs(kItems);
  std::iota(inputs.begin(), inputs.end(), 0);
  bench::ThreadPool pool(2);
  auto chunksize = bench::default_chunksize(inputs.size(), pool.size());
  int (*f)(int) = tiny;
  benchmark::DoNotOptimize(f);  // called through a pointer, as a process pool must
  for (auto _ : state) {
    auto out = bench::map(pool, f, inputs, chunksize);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations() * kItems);
}
BENCHMARK(BM_thread_pool_map_tiny)->Name("pool_map_tiny/thread_pool")->UseRealTime();

}  // namespace
