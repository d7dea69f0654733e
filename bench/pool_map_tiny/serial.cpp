// Anchor: the same 100k calls in a plain loop on one core, through a function pointer (so the
// compiler cannot fold the work away), into a fresh result vector as map returns.
#include <benchmark/benchmark.h>

#include <numeric>
#include <vector>

namespace {

constexpr int kItems = 100'000;

int tiny(int x) { return x * 2 + 1; }

void BM_serial_map_tiny(benchmark::State& state) {
  std::vector<int> inputs(kItems);
  std::iota(inputs.begin(), inputs.end(), 0);
  int (*f)(int) = tiny;
  benchmark::DoNotOptimize(f);
  for (auto _ : state) {
    std::vector<int> out(inputs.size());
    for (std::size_t i = 0; i < inputs.size(); ++i) out[i] = f(inputs[i]);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations() * kItems);
}
BENCHMARK(BM_serial_map_tiny)->Name("pool_map_tiny/serial")->UseRealTime();

}  // namespace
