// Anchors: the in-process round trip (no process boundary) — submit one task to a pool of 2
// threads and wait for it:
//   thread_pool:         the plain mutex + condvar pool (two condvar wake-ups);
//   thread_pool_chunked: the fast pool (a one-item job; spin-then-futex waits both ways).
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

void BM_thread_pool_chunked_apply(benchmark::State& state) {
  bench::ChunkedPool pool(2);
  int (*f)(int) = plus_one;
  benchmark::DoNotOptimize(f);
  int v = 0;
  auto body = [&v, f](std::size_t, std::size_t) { v = f(v); };
  for (auto _ : state) pool.run(1, 1, body);
  benchmark::DoNotOptimize(v);
}
BENCHMARK(BM_thread_pool_chunked_apply)->Name("pool_apply/thread_pool_chunked")->UseRealTime();

}  // namespace
