// pool_stats: what Pool::stats() tells after a map. 400 items on 2 workers, each worker replaced
// after 150 tasks (max_tasks_per_child); items of uneven cost (a busy loop of 0.1 to 2 ms), one
// that throws and one that crashes. Prints each worker slot and the total; exits 0 only if the
// counts are exactly what the items did.
#include <chrono>
#include <csignal>
#include <cstdio>
#include <mproc/mproc.hpp>
#include <numeric>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

// Busy for 0.1 to 2 ms (by the steady clock), depending on x; 100 throws, 300 crashes.
long work(int x) {
  if (x == 100) throw std::runtime_error("bad input 100");
  if (x == 300) std::raise(SIGSEGV);
  const auto busy = std::chrono::microseconds(100 + (x * 7919) % 1900);
  const auto until = std::chrono::steady_clock::now() + busy;
  long n = 0;
  while (std::chrono::steady_clock::now() < until) ++n;
  return n;
}

double ms(std::chrono::nanoseconds d) { return static_cast<double>(d.count()) / 1e6; }

void print(const char* who, const mproc::WorkerStats& w) {
  std::printf("%-8s %7d %6llu %6llu %8llu %8llu %9.1f %7.1f %8.1f %7.2f %7.2f %8.1f\n", who, w.pid,
              static_cast<unsigned long long>(w.items_done),
              static_cast<unsigned long long>(w.items_failed.total()),
              static_cast<unsigned long long>(w.recycles),
              static_cast<unsigned long long>(w.crashes), ms(w.compute_time), ms(w.codec_time),
              ms(w.wait_time), ms(w.item_time_p50), ms(w.item_time_p95),
              static_cast<double>(w.rss_bytes) / (1 << 20));
}

}  // namespace

int main(int argc, char** argv) {
  mproc::init(argc, argv);
  mproc::Pool pool(mproc::PoolOptions{.processes = 2, .max_tasks_per_child = 150});
  std::vector<int> inputs(400);
  std::iota(inputs.begin(), inputs.end(), 0);
  const auto results = pool.try_map(work, inputs);

  const mproc::PoolStats s = pool.stats();
  std::printf("%-8s %7s %6s %6s %8s %8s %9s %7s %8s %7s %7s %8s\n", "slot", "pid", "done", "failed",
              "recycles", "crashes", "compute", "codec", "wait", "p50", "p95", "rss");
  std::printf("%-8s %7s %6s %6s %8s %8s %9s %7s %8s %7s %7s %8s\n", "", "", "", "", "", "", "ms",
              "ms", "ms", "ms", "ms", "MiB");
  for (std::size_t i = 0; i < s.workers.size(); ++i) {
    const std::string name = "worker " + std::to_string(i);
    print(name.c_str(), s.workers[i]);
  }
  print("total", s.total);
  std::printf("bytes in %llu, out %llu; crashes by signal:",
              static_cast<unsigned long long>(s.total.bytes_in),
              static_cast<unsigned long long>(s.total.bytes_out));
  for (auto [sig, n] : s.total.crashes_by_signal) {
    std::printf(" %d x%llu", sig, static_cast<unsigned long long>(n));
  }
  std::printf("\n");

  const auto& t = s.total;
  const bool as_expected =
      t.items_done == 398 && t.items_failed.remote_error == 1 && t.items_failed.crashed == 1 &&
      t.crashes == 1 && t.crashes_by_signal.count(SIGSEGV) == 1 &&
      t.item_time_p50 <= t.item_time_p95 && !results[100].ok() && !results[300].ok();
  std::printf("%s\n", as_expected ? "ok" : "UNEXPECTED");
  return as_expected ? 0 : 1;
}
