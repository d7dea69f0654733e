// Python twin: Pool.map (multiprocessing docs, "Using a pool of workers").
//
//   from multiprocessing import Pool
//
//   def f(x):
//       return x*x
//
//   if __name__ == '__main__':
//       # start 4 worker processes
//       with Pool(processes=4) as pool:
//           # print "[0, 1, 4,..., 81]"
//           print(pool.map(f, range(10)))
//
// Prints "[0, 1, 4, 9, 16, 25, 36, 49, 64, 81]" and exits 0 when that is what it got.
#include <mproc/mproc.hpp>

#include <cstdio>
#include <ranges>
#include <string>
#include <vector>

namespace {

int f(int x) { return x * x; }

std::string repr(const std::vector<int>& v) {
  std::string s = "[";
  for (std::size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + std::to_string(v[i]);
  return s + "]";
}

}  // namespace

int main() {
  mproc::Pool pool(mproc::PoolOptions{.processes = 4});
  const std::string printed = repr(pool.map(f, std::views::iota(0, 10)));
  std::printf("%s\n", printed.c_str());
  return printed == "[0, 1, 4, 9, 16, 25, 36, 49, 64, 81]" ? 0 : 1;
}
