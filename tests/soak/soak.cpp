// make soak: a long run that must not leak. 1,000,000 tasks (MPROC_SOAK_TASKS to change) through
// a Pool whose workers are replaced every 1,000 tasks, with a task that crashes its worker every
// ~5,000 items; between rounds the parent's open fds, resident memory, threads, children and
// /dev/shm entries are sampled. Fails (exit 1) if any of them grows after the second round (RSS:
// by more than 1 MiB), or if
// any item is lost, duplicated or wrong. Not in make test: it takes minutes.
//   soak [fork|forkserver|spawn]
#include <dirent.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <numeric>
#include <string>
#include <vector>

#include "mproc/mproc.hpp"
#include "support/proc_fds.hpp"

namespace {

std::size_t children() {
  std::size_t n = 0;
  const std::string task_dir = "/proc/self/task";
  if (DIR* d = ::opendir(task_dir.c_str())) {
    while (dirent* e = ::readdir(d)) {
      if (e->d_name[0] == '.') continue;
      if (FILE* f = std::fopen((task_dir + "/" + e->d_name + "/children").c_str(), "r")) {
        int pid;
        while (std::fscanf(f, "%d", &pid) == 1) ++n;
        std::fclose(f);
      }
    }
    ::closedir(d);
  }
  return n;
}

struct Sample {
  std::size_t fds, rss_kib, threads, children, shm;
};

Sample sample() {
  return {mproc::test::fd_count(), mproc::test::resident_bytes() / 1024,
          mproc::test::entries_in("/proc/self/task"), children(),
          mproc::test::entries_in("/dev/shm")};
}

bool crashes(long i) { return (static_cast<unsigned long>(i) * 2654435761ul) % 5003 == 17; }

__attribute__((noinline)) void crash_now() {
  volatile int* volatile p = nullptr;
  *p = 1;
}

long work(long i) {
  if (crashes(i)) crash_now();
  return i * 3 + 1;
}

}  // namespace

int main(int argc, char** argv) {
  mproc::init(argc, argv);
  const std::string method_name = argc > 1 ? argv[1] : "fork";
  mproc::StartMethod method = mproc::StartMethod::fork;
  if (method_name == "forkserver") method = mproc::StartMethod::forkserver;
  if (method_name == "spawn") method = mproc::StartMethod::spawn;
  const long total =
      std::getenv("MPROC_SOAK_TASKS") ? std::atol(std::getenv("MPROC_SOAK_TASKS")) : 1'000'000;
  const long rounds = 20;
  const long per_round = std::max(1L, total / rounds);

  mproc::Pool pool(
      mproc::PoolOptions{.processes = 2, .start_method = method, .max_tasks_per_child = 1000});
  std::printf(
      "soak: %ld tasks in %ld rounds, Pool(2) %s, workers replaced every 1000 tasks, a "
      "crash every ~5000 items\n",
      per_round * rounds, rounds, method_name.c_str());
  std::printf("%6s %10s %8s %6s %8s %8s %9s %8s %9s\n", "round", "items", "crashes", "fds",
              "rss KiB", "threads", "children", "/dev/shm", "seconds");
  const auto start = std::chrono::steady_clock::now();
  std::vector<Sample> samples;
  long bad = 0, crashed = 0;
  for (long r = 0; r < rounds; ++r) {
    std::vector<long> in(static_cast<std::size_t>(per_round));
    std::iota(in.begin(), in.end(), r * per_round);
    const auto out = pool.try_map(work, in);
    if (out.size() != in.size()) ++bad;
    for (std::size_t k = 0; k < out.size(); ++k) {
      const long i = in[k];
      if (crashes(i)) {
        try {
          if (out[k].ok())
            ++bad;
          else
            std::rethrow_exception(out[k].error());
        } catch (const mproc::WorkerCrashed&) {
          ++crashed;
        } catch (...) {
          ++bad;
        }
      } else if (!out[k].ok() || out[k].value() != i * 3 + 1) {
        ++bad;
      }
    }
    samples.push_back(sample());
    const Sample& s = samples.back();
    std::printf("%6ld %10ld %8ld %6zu %8zu %8zu %9zu %8zu %9.1f\n", r + 1, (r + 1) * per_round,
                crashed, s.fds, s.rss_kib, s.threads, s.children, s.shm,
                std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  // Growth after the first two rounds (they set up the pool, its channels and the allocator's
  // arenas: the second round's vectors are allocated while the first's are being freed).
  // Fds and children are the smallest of the last three rounds: a sample may catch a retiring
  // worker not yet reaped (its pidfd open, its process a zombie) — a leak would be in all three.
  const Sample& a = samples[std::min<std::size_t>(1, samples.size() - 1)];
  Sample z = samples.back();
  for (std::size_t k = samples.size() >= 3 ? samples.size() - 3 : 0; k < samples.size(); ++k) {
    z.fds = std::min(z.fds, samples[k].fds);
    z.children = std::min(z.children, samples[k].children);
  }
  bool grew = z.fds > a.fds || z.threads > a.threads || z.children > a.children || z.shm > a.shm ||
              z.rss_kib > a.rss_kib + 1024;
  std::printf(
      "soak: %ld wrong or lost items; round 2 -> last: fds %zu -> %zu, RSS %zu -> %zu "
      "KiB, threads %zu -> %zu, children %zu -> %zu, /dev/shm %zu -> %zu: %s\n",
      bad, a.fds, z.fds, a.rss_kib, z.rss_kib, a.threads, z.threads, a.children, z.children, a.shm,
      z.shm, bad == 0 && !grew ? "OK" : "FAILED");
  return bad == 0 && !grew ? 0 : 1;
}
