// Anchor: submit one task to a mutex + condvar pool of 2 threads and wait for it: the in-process
// round trip (two condvar wake-ups, no process boundary).
#include "../support/thread_pool.hpp"

#include <benchmark/benchmark.h>

namespace {

int plus_one(int x) { return x + 1; }

void BM_thread_pool_apply(benchmark::State& state) {
  bench::ThreadPool pool(2);
  int (*f)(int) = plus_one;
  benchmark::DoNotOptimize(f);
  int v = 0;
  for (auto _ : state) {
    pool.submit([&v, f] { v = f(v); });
    pool.wait_idle();
  }
  benchmark::DoNotOptimize(v);
}
BENCHMARK(BM_thread_pool_apply)->Name("pool_apply/thread_pool")->UseRealTime();

}  // namespace
