// Anchor: the same sweep on the plain mutex + condvar thread pool of 2 threads, chunked as
// Python chunks (four chunks per worker).
#include "../support/thread_pool.hpp"

#include <benchmark/benchmark.h>

#include <numeric>
#include <vector>

#include "work.hpp"

namespace {

template <int US>
void BM_thread_pool_map_work(benchmark::State& state) {
  std::vector<int> inputs(bench::work_items(US));
  std::iota(inputs.begin(), inputs.end(), 0);
  bench::ThreadPool pool(2);
  auto chunksize = bench::default_chunksize(inputs.size(), pool.size());
  int (*f)(int) = bench::work<US>;
  benchmark::DoNotOptimize(f);
  for (auto _ : state) {
    auto out = bench::map(pool, f, inputs, chunksize);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(inputs.size()));
}
BENCHMARK(BM_thread_pool_map_work<0>)->Name("pool_map_work_0us/thread_pool")->UseRealTime();
BENCHMARK(BM_thread_pool_map_work<1>)->Name("pool_map_work_1us/thread_pool")->UseRealTime();
BENCHMARK(BM_thread_pool_map_work<10>)->Name("pool_map_work_10us/thread_pool")->UseRealTime();
BENCHMARK(BM_thread_pool_map_work<100>)->Name("pool_map_work_100us/thread_pool")->UseRealTime();
BENCHMARK(BM_thread_pool_map_work<1000>)->Name("pool_map_work_1000us/thread_pool")->UseRealTime();

}  // namespace
