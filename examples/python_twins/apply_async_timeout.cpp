// Python twin: Pool.apply_async and get(timeout=...) (multiprocessing docs, "Using a pool of
// workers").
//
//   from multiprocessing import Pool, TimeoutError
//   import time
//   import os
//
//   def f(x):
//       return x*x
//
//   if __name__ == '__main__':
//       with Pool(processes=4) as pool:
//           # evaluate "f(20)" asynchronously
//           res = pool.apply_async(f, (20,))      # runs in *only* one process
//           print(res.get(timeout=1))             # prints "400"
//
//           # evaluate "os.getpid()" asynchronously
//           res = pool.apply_async(os.getpid, ()) # runs in *only* one process
//           print(res.get(timeout=1))             # prints the PID of that process
//
//           # launching multiple evaluations asynchronously *may* use more processes
//           multiple_results = [pool.apply_async(os.getpid, ()) for i in range(4)]
//           print([res.get(timeout=1) for res in multiple_results])
//
//           # make a single worker sleep for 10 seconds
//           res = pool.apply_async(time.sleep, (10,))
//           try:
//               print(res.get(timeout=1))
//           except TimeoutError:
//               print("We lacked patience and got a multiprocessing.TimeoutError")
//
//           print("For the moment, the pool remains available for more work")
//
//       # exiting the 'with'-block has stopped the pool
//       print("Now the pool is closed and no longer available")
//
// mproc's Future has no get(timeout): wait_for(timeout) returns false when the result is not
// ready in time, and get() then waits for it. get_within() below is Python's get(timeout=...).
// Python's `with Pool` calls terminate() on exit; mproc's ~Pool waits for the work (close() +
// join()), so the sleeping task is stopped with an explicit terminate(), as Python does.
// Exits 0 when f(20) gave 400, the pids were workers' pids, and the sleep timed out.
#include <mproc/mproc.hpp>

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {

using namespace std::chrono_literals;

int f(int x) { return x * x; }

int getpid_task() { return ::getpid(); }

void sleep_seconds(int s) { std::this_thread::sleep_for(std::chrono::seconds(s)); }

struct TimeoutError : std::runtime_error {
  TimeoutError() : std::runtime_error("timed out") {}
};

// Python's res.get(timeout=...).
template <class R, class Rep, class Period>
R get_within(mproc::Future<R>& res, std::chrono::duration<Rep, Period> timeout) {
  if (!res.wait_for(timeout)) throw TimeoutError();
  return res.get();
}

}  // namespace

int main() {
  mproc::Pool pool(mproc::PoolOptions{.processes = 4});
  const std::vector<int> workers = pool.worker_pids();
  const auto is_worker = [&](int pid) { return std::ranges::count(workers, pid) == 1; };

  auto res = pool.apply_async(f, 20);
  const int square = get_within(res, 1s);
  std::printf("%d\n", square);

  auto pid_res = pool.apply_async(getpid_task);
  const int pid = get_within(pid_res, 1s);
  std::printf("%d\n", pid);

  std::vector<mproc::Future<int>> multiple_results;
  for (int i = 0; i < 4; ++i) multiple_results.push_back(pool.apply_async(getpid_task));
  bool pids_ok = is_worker(pid);
  std::string printed = "[";
  for (auto& r : multiple_results) {
    const int p = get_within(r, 1s);
    pids_ok = pids_ok && is_worker(p);
    printed += (printed.size() > 1 ? ", " : "") + std::to_string(p);
  }
  std::printf("%s]\n", printed.c_str());

  auto sleeping = pool.apply_async(sleep_seconds, 10);
  bool timed_out = false;
  try {
    get_within(sleeping, 1s);
  } catch (const TimeoutError&) {
    timed_out = true;
    std::printf("We lacked patience and got a TimeoutError\n");
  }

  std::printf("For the moment, the pool remains available for more work\n");
  pool.terminate();  // what leaving Python's `with Pool(...)` block does
  pool.join();
  std::printf("Now the pool is closed and no longer available\n");
  return square == 400 && pids_ok && timed_out ? 0 : 1;
}
