// mproc: what each optional Pool feature costs, beside the same workload without it (2 workers).
// report.py shows the plain run as "mproc" and each feature as an anchor "mproc_<feature>", so
// the ratio column is plain / with-feature throughput: 1.00 means free.
//   pool_feature_tiny_map:   map of 100k int -> int (the packed path), the task reading
//                            worker_state<T>() / a soft_timeout set (which leaves the packed path)
//   pool_feature_string_map: map of 20k short strings -> size_t (the general path), the same
//   pool_feature_startup:    Pool(2) start + first apply + shutdown under fork, with a
//                            memory_limit_bytes enforced by a memory cgroup per worker or by RLIMIT_AS
#include <benchmark/benchmark.h>

#include <chrono>
#include <mproc/mproc.hpp>
#include <numeric>
#include <string>
#include <vector>

namespace {

constexpr int kTiny = 100'000;
constexpr int kStrings = 20'000;

struct Counter {
  long seen = 0;
};
Counter make_counter() { return Counter{}; }

int tiny(int x) { return x * 2 + 1; }
int tiny_with_state(int x) {
  ++mproc::worker_state<Counter>().seen;
  return x * 2 + 1;
}
std::size_t length(const std::string& s) { return s.size(); }
std::size_t length_with_state(const std::string& s) {
  ++mproc::worker_state<Counter>().seen;
  return s.size();
}

enum class Feature { none, worker_state, soft_timeout };

mproc::PoolOptions options(Feature f) {
  mproc::PoolOptions o{.processes = 2};
  if (f == Feature::worker_state) o.worker_state = mproc::WorkerState(make_counter);
  if (f == Feature::soft_timeout) o.soft_timeout = std::chrono::seconds(10);
  return o;
}

void BM_tiny_map(benchmark::State& state, Feature f) {
  std::vector<int> inputs(kTiny);
  std::iota(inputs.begin(), inputs.end(), 0);
  mproc::Pool pool(options(f));
  auto* task = f == Feature::worker_state ? tiny_with_state : tiny;
  for (auto _ : state) {
    auto out = pool.map(task, inputs);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations() * kTiny);
}

void BM_string_map(benchmark::State& state, Feature f) {
  std::vector<std::string> inputs;
  inputs.reserve(kStrings);
  for (int i = 0; i < kStrings; ++i) inputs.push_back("item-" + std::to_string(i));
  mproc::Pool pool(options(f));
  auto* task = f == Feature::worker_state ? length_with_state : length;
  for (auto _ : state) {
    auto out = pool.map(task, inputs);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations() * kStrings);
}

enum class Limit { none, cgroup, rlimit };

void BM_startup(benchmark::State& state, Limit limit) {
  int v = 0;
  for (auto _ : state) {
    mproc::PoolOptions o{.processes = 2, .start_method = mproc::StartMethod::fork};
    if (limit != Limit::none) {
      o.memory_limit_bytes = std::size_t{1} << 30;
      o.memory_limit_cgroup = limit == Limit::cgroup;
    }
    mproc::Pool pool(o);
    v = pool.apply(tiny, v);
  }
  benchmark::DoNotOptimize(v);
}

[[maybe_unused]] const bool registered = [] {
  const std::pair<Feature, const char*> features[] = {{Feature::none, "mproc"},
                                                      {Feature::worker_state, "mproc_worker_state"},
                                                      {Feature::soft_timeout, "mproc_soft_timeout"}};
  for (auto [f, name] : features) {
    benchmark::RegisterBenchmark((std::string("pool_feature_tiny_map/") + name).c_str(), BM_tiny_map, f)
        ->UseRealTime();
    benchmark::RegisterBenchmark((std::string("pool_feature_string_map/") + name).c_str(), BM_string_map, f)
        ->UseRealTime();
  }
  const std::pair<Limit, const char*> limits[] = {{Limit::none, "mproc"},
                                                  {Limit::cgroup, "mproc_memory_cgroup"},
                                                  {Limit::rlimit, "mproc_memory_rlimit"}};
  for (auto [l, name] : limits) {
    benchmark::RegisterBenchmark((std::string("pool_feature_startup/") + name).c_str(), BM_startup, l)
        ->UseRealTime()
        ->Unit(benchmark::kMillisecond)
        ->Iterations(30);
  }
  return true;
}();

}  // namespace
