// Anchors: the same map on thread pools of 2 threads (no process boundary):
//   thread_pool_per_item: the plain mutex + condvar pool, one task per item (the naive pool);
//   thread_pool:          the same pool, chunked as Python chunks (four chunks per worker);
//   thread_pool_chunked:  the fast pool (atomic chunk claiming, spin-then-futex), chunks of 5000.
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

void BM_thread_pool_per_item_map_tiny(benchmark::State& state) {
  std::vector<int> inputs(kItems);
  std::iota(inputs.begin(), inputs.end(), 0);
  bench::ThreadPool pool(2);
  int (*f)(int) = tiny;
  benchmark::DoNotOptimize(f);
  for (auto _ : state) {
    auto out = bench::map(pool, f, inputs, 1);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations() * kItems);
}
BENCHMARK(BM_thread_pool_per_item_map_tiny)
    ->Name("pool_map_tiny/thread_pool_per_item")
    ->UseRealTime();

void BM_thread_pool_chunked_map_tiny(benchmark::State& state) {
  std::vector<int> inputs(kItems);
  std::iota(inputs.begin(), inputs.end(), 0);
  bench::ChunkedPool pool(2);
  int (*f)(int) = tiny;
  benchmark::DoNotOptimize(f);
  for (auto _ : state) {
    auto out = bench::map(pool, f, inputs, 5000);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations() * kItems);
}
BENCHMARK(BM_thread_pool_chunked_map_tiny)
    ->Name("pool_map_tiny/thread_pool_chunked")
    ->UseRealTime();

}  // namespace
