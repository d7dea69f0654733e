// Anchor: the same scaling run on the plain mutex + condvar thread pool of N threads, chunked as
// Python chunks: what oversubscription alone costs a pool with no process boundary.
#include "../support/thread_pool.hpp"

#include <benchmark/benchmark.h>

#include <ctime>
#include <numeric>
#include <string>
#include <vector>

namespace {

constexpr int kItems = 100'000;

int tiny(int x) { return x * 2 + 1; }

void BM_thread_pool_map_scaling(benchmark::State& state, unsigned workers) {
  std::vector<int> inputs(kItems);
  std::iota(inputs.begin(), inputs.end(), 0);
  bench::ThreadPool pool(workers);
  auto chunksize = bench::default_chunksize(inputs.size(), pool.size());
  int (*f)(int) = tiny;
  benchmark::DoNotOptimize(f);
  for (auto _ : state) {
    auto out = bench::map(pool, f, inputs, chunksize);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations() * kItems);
}

double process_cpu_seconds() {
  timespec ts{};
  return ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts) == 0 ? ts.tv_sec + ts.tv_nsec * 1e-9 : 0.0;
}

// Timed by the CPU time of all the pool's threads (and the caller).
void BM_thread_pool_map_scaling_cpu(benchmark::State& state, unsigned workers) {
  std::vector<int> inputs(kItems);
  std::iota(inputs.begin(), inputs.end(), 0);
  bench::ThreadPool pool(workers);
  auto chunksize = bench::default_chunksize(inputs.size(), pool.size());
  int (*f)(int) = tiny;
  benchmark::DoNotOptimize(f);
  for (auto _ : state) {
    const double before = process_cpu_seconds();
    auto out = bench::map(pool, f, inputs, chunksize);
    benchmark::DoNotOptimize(out.data());
    state.SetIterationTime(process_cpu_seconds() - before);
  }
  state.SetItemsProcessed(state.iterations() * kItems);
}

[[maybe_unused]] const bool registered = [] {
  for (unsigned n : {2u, 4u, 8u, 16u, 32u, 64u}) {
    benchmark::RegisterBenchmark(
        ("pool_map_scaling_w" + std::to_string(n) + "/thread_pool").c_str(),
        BM_thread_pool_map_scaling, n)
        ->UseRealTime();
    benchmark::RegisterBenchmark(
        ("pool_map_scaling_cpu_w" + std::to_string(n) + "/thread_pool").c_str(),
        BM_thread_pool_map_scaling_cpu, n)
        ->UseManualTime();
  }
  return true;
}();

}  // namespace
