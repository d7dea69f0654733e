// A cluster: collatz_pool.cpp with mproc::mpi::Pool. Run it as
//   mpirun -np 4 ./collatz_mpi     (rank 0 drives; ranks 1..3 compute)
// Every rank runs main; on ranks 1..3 the pool's constructor serves rank 0 and then exits, so
// the lines after it run on rank 0 only.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <mproc/mpi/pool.hpp>
#include <numeric>
#include <vector>

int collatz_steps(std::uint64_t n) {
  int steps = 0;
  for (; n != 1; ++steps) n = n % 2 == 0 ? n / 2 : 3 * n + 1;
  return steps;
}

int main(int argc, char** argv) {
  mproc::mpi::Pool pool(argc, argv);  // every rank but 0 computes

  std::vector<std::uint64_t> inputs(999'999);
  std::iota(inputs.begin(), inputs.end(), std::uint64_t{1});
  const std::vector<int> steps = pool.map(collatz_steps, inputs);
  const auto longest = std::max_element(steps.begin(), steps.end()) - steps.begin();
  std::printf("longest Collatz chain below 1000000: %llu (%d steps), %u worker processes\n",
              static_cast<unsigned long long>(inputs[static_cast<std::size_t>(longest)]),
              steps[static_cast<std::size_t>(longest)], pool.processes());
}
