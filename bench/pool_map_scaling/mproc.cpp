// mproc: the per-item overhead of Pool(N).map of 100k tiny tasks (default chunksize) for N = 2,
// 4, ..., 64 workers — on this machine oversubscribed (more workers than cores), a simulation of
// a wider machine. bench/report.py shows it as ns per item (wall time of one map / 100k) and says
// in its notes what it can and cannot show.
#include <benchmark/benchmark.h>

#include <mproc/mproc.hpp>
#include <ctime>
#include <numeric>
#include <string>
#include <vector>

namespace {

constexpr int kItems = 100'000;

int tiny(int x) { return x * 2 + 1; }

void BM_mproc_map_scaling(benchmark::State& state, unsigned workers) {
  std::vector<int> inputs(kItems);
  std::iota(inputs.begin(), inputs.end(), 0);
  mproc::Pool pool(workers);
  benchmark::DoNotOptimize(pool.map(tiny, inputs));  // every worker is up before the clock
  for (auto _ : state) {
    auto out = pool.map(tiny, inputs);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations() * kItems);
}

// CPU time of this process (all threads) and of every worker, in seconds.
double pool_cpu_seconds(const mproc::Pool& pool) {
  auto seconds = [](clockid_t clock) {
    timespec ts{};
    return ::clock_gettime(clock, &ts) == 0 ? ts.tv_sec + ts.tv_nsec * 1e-9 : 0.0;
  };
  double total = seconds(CLOCK_PROCESS_CPUTIME_ID);
  for (int pid : pool.worker_pids()) {
    clockid_t clock{};
    if (::clock_getcpuclockid(pid, &clock) == 0) total += seconds(clock);
  }
  return total;
}

// The same map, timed by the CPU it costs the parent and all workers together: what the machine
// pays per item whatever the scheduling (on a real N-core machine, spread over N cores).
void BM_mproc_map_scaling_cpu(benchmark::State& state, unsigned workers) {
  std::vector<int> inputs(kItems);
  std::iota(inputs.begin(), inputs.end(), 0);
  mproc::Pool pool(workers);
  benchmark::DoNotOptimize(pool.map(tiny, inputs));
  for (auto _ : state) {
    const double before = pool_cpu_seconds(pool);
    auto out = pool.map(tiny, inputs);
    benchmark::DoNotOptimize(out.data());
    state.SetIterationTime(pool_cpu_seconds(pool) - before);
  }
  state.SetItemsProcessed(state.iterations() * kItems);
}

[[maybe_unused]] const bool registered = [] {
  for (unsigned n : {2u, 4u, 8u, 16u, 32u, 64u}) {
    benchmark::RegisterBenchmark(("pool_map_scaling_w" + std::to_string(n) + "/mproc").c_str(),
                                 BM_mproc_map_scaling, n)
        ->UseRealTime();
    benchmark::RegisterBenchmark(("pool_map_scaling_cpu_w" + std::to_string(n) + "/mproc").c_str(),
                                 BM_mproc_map_scaling_cpu, n)
        ->UseManualTime();
  }
  return true;
}();

}  // namespace
