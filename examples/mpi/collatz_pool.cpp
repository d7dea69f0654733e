// One machine: the longest Collatz chain below a million, with a Pool of this machine's cores.
// collatz_mpi.cpp is the same program on a cluster: only the pool's line differs.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <mproc/pool.hpp>
#include <numeric>
#include <vector>

int collatz_steps(std::uint64_t n) {
  int steps = 0;
  for (; n != 1; ++steps) n = n % 2 == 0 ? n / 2 : 3 * n + 1;
  return steps;
}

int main(int, char**) {
  mproc::Pool pool;  // this machine's cores

  std::vector<std::uint64_t> inputs(999'999);
  std::iota(inputs.begin(), inputs.end(), std::uint64_t{1});
  const std::vector<int> steps = pool.map(collatz_steps, inputs);
  const auto longest = std::max_element(steps.begin(), steps.end()) - steps.begin();
  std::printf("longest Collatz chain below 1000000: %llu (%d steps), %u worker processes\n",
              static_cast<unsigned long long>(inputs[static_cast<std::size_t>(longest)]),
              steps[static_cast<std::size_t>(longest)], pool.processes());
}
