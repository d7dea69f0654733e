// mproc: Pool(2).apply of a task that returns 1 MiB (std::vector<std::byte>): result bandwidth.
#include <benchmark/benchmark.h>

#include <cstddef>
#include <mproc/mproc.hpp>
#include <vector>

namespace {

constexpr std::size_t kBytes = std::size_t{1} << 20;

std::vector<std::byte> one_mib(int fill) {
  return std::vector<std::byte>(kBytes, static_cast<std::byte>(fill));
}

void BM_mproc_pool_result_1mib(benchmark::State& state) {
  mproc::Pool pool(2);
  benchmark::DoNotOptimize(pool.apply(one_mib, 1));  // the workers are up before the clock starts
  for (auto _ : state) {
    auto r = pool.apply(one_mib, 1);
    benchmark::DoNotOptimize(r.data());
  }
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(kBytes));
}
BENCHMARK(BM_mproc_pool_result_1mib)->Name("pool_result_1mib/mproc")->UseRealTime();

}  // namespace
