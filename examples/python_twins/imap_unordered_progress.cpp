// Python twin: Pool.imap_unordered (multiprocessing docs, "Using a pool of workers"), with the
// progress bar Python users add with tqdm; mproc draws it itself (PoolOptions::progress).
//
//   from multiprocessing import Pool
//
//   def f(x):
//       return x*x
//
//   if __name__ == '__main__':
//       with Pool(processes=4) as pool:
//           # print same numbers in arbitrary order
//           for i in pool.imap_unordered(f, range(10)):
//               print(i)
//
// (The bar: `for i in tqdm(pool.imap_unordered(f, range(10)), total=10)` in Python, a common
// idiom but not in the docs.) The bar goes to stderr and only when it is a terminal. Prints the
// ten squares in completion order; exits 0 when they are the ten squares, each once.
#include <mproc/mproc.hpp>

#include <algorithm>
#include <cstdio>
#include <ranges>
#include <vector>

namespace {

int f(int x) { return x * x; }

}  // namespace

int main() {
  mproc::Pool pool(mproc::PoolOptions{.processes = 4, .progress = true});
  std::vector<int> seen;
  for (int i : pool.imap_unordered(f, std::views::iota(0, 10))) {
    std::printf("%d\n", i);
    seen.push_back(i);
  }
  std::ranges::sort(seen);
  return seen == std::vector<int>{0, 1, 4, 9, 16, 25, 36, 49, 64, 81} ? 0 : 1;
}
