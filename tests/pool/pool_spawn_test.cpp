// Pool with StartMethod::spawn and forkserver (each case runs under both): every worker is a
// fresh exec of this test binary, or a fork of the server init() started (init() in the
// test main makes it a worker), so it shares nothing with the test but its channel; the task
// reaches it named as {module, offset}. Failures, timeouts and recycling behave as under fork.
#include <dlfcn.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <mutex>
#include <numeric>
#include <ranges>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include "mproc/mproc.hpp"

namespace {

using mproc::Pool;
using mproc::PoolOptions;
using mproc::StartMethod;
using namespace std::chrono_literals;

class PoolExec : public testing::TestWithParam<StartMethod> {
 protected:
  [[nodiscard]] PoolOptions spawned(unsigned processes = 2) const {
    return PoolOptions{.processes = processes, .start_method = GetParam()};
  }
};

int square(int x) { return x * x; }
std::string shout(std::string s) { return s + "!"; }
int add3(int a, int b, int c) { return a + b + c; }
int my_pid(int) { return static_cast<int>(::getpid()); }

__attribute__((noinline, no_sanitize("undefined"))) void crash_here() {
  volatile int* volatile p = nullptr;
  *p = 42;
}
int crash_on_96(int x) {
  if (x == 96) crash_here();
  return x + 1;
}
int hang_on_7(int x) {
  if (x == 7) {
    for (;;) ::pause();
  }
  return x;
}

int throw_on_odd(int x) {
  if (x % 2 == 1) throw std::invalid_argument("odd input " + std::to_string(x));
  return x;
}
void throwing_init() { throw std::runtime_error("no database"); }
int alloc_mib(int mib) {
  std::vector<char> v(static_cast<std::size_t>(mib) << 20, 1);
  return v[v.size() / 2];
}
// Crashes on its first attempt only: the first to create `marker` crashes (a spawned worker
// shares no memory with the test, so the attempt is counted in the file system).
int crash_first_time(std::string marker) {
  const int fd = ::open(marker.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
  if (fd >= 0) {
    ::close(fd);
    crash_here();
  }
  return 7;
}
int always_crash(int) {
  crash_here();
  return 0;
}

// A fresh directory for marker files, removed with what is in it.
class TempDir {
 public:
  TempDir() {
    std::string t = (std::getenv("TMPDIR") ? std::getenv("TMPDIR") : "/tmp");
    t += "/mproc-pool-spawn-XXXXXX";
    if (::mkdtemp(t.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = t;
  }
  ~TempDir() {
    for (const auto& f : files_) ::unlink(f.c_str());
    ::rmdir(path_.c_str());
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string file(const std::string& name) {
    files_.push_back(path_ + "/" + name);
    return files_.back();
  }

 private:
  std::string path_;
  std::vector<std::string> files_;
};

// What the parent changes; a spawned worker (a fresh program) never sees it.
int g_parent_marker = 0;
int read_marker() { return g_parent_marker; }

// Set by the initializer in each worker.
int g_initialized_in = 0;
void remember_pid() { g_initialized_in = static_cast<int>(::getpid()); }
std::pair<int, int> pid_and_init(int) { return {static_cast<int>(::getpid()), g_initialized_in}; }

TEST_P(PoolExec, MapOfTenThousandItems) {
  Pool pool(spawned());
  std::vector<int> in(10'000);
  std::iota(in.begin(), in.end(), 0);
  const auto out = pool.map(square, in);
  ASSERT_EQ(out.size(), in.size());
  for (int x : in) ASSERT_EQ(out[static_cast<std::size_t>(x)], x * x) << x;
}

TEST_P(PoolExec, ApplyRunsInAFreshProgram) {
  g_parent_marker = 42;  // a forked worker would see it
  Pool pool(spawned());
  EXPECT_EQ(pool.apply(read_marker), 0);
  EXPECT_EQ(pool.apply(add3, 1, 2, 3), 6);
  EXPECT_NE(pool.apply(my_pid, 0), static_cast<int>(::getpid()));
  g_parent_marker = 0;
}

TEST_P(PoolExec, EveryKindOfCall) {
  Pool pool(spawned());
  const std::vector<std::string> words{"a", "bb", "ccc"};
  EXPECT_EQ(pool.map(shout, words), (std::vector<std::string>{"a!", "bb!", "ccc!"}));
  EXPECT_EQ(pool.map([](int x) { return x - 1; }, std::vector<int>{1, 2, 3}),
            (std::vector<int>{0, 1, 2}));
  const std::vector<std::tuple<int, int, int>> triples{{1, 2, 3}, {4, 5, 6}};
  EXPECT_EQ(pool.starmap(add3, triples), (std::vector<int>{6, 15}));
  const auto tried = pool.try_map(shout, words);
  ASSERT_EQ(tried.size(), 3u);
  EXPECT_EQ(tried[2].value(), "ccc!");
  std::vector<int> ordered;
  for (int v : pool.imap(square, std::views::iota(0, 100))) ordered.push_back(v);
  ASSERT_EQ(ordered.size(), 100u);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(ordered[static_cast<std::size_t>(i)], i * i);
  std::multiset<int> unordered;
  for (int v : pool.imap_unordered(square, std::vector<int>{1, 2, 3})) unordered.insert(v);
  EXPECT_EQ(unordered, (std::multiset<int>{1, 4, 9}));
  auto f = pool.apply_async(shout, std::string("x"));
  auto m = pool.map_async(square, std::vector<int>{5, 6});
  EXPECT_EQ(f.get(), "x!");
  EXPECT_EQ(m.get(), (std::vector<int>{25, 36}));
}

TEST_P(PoolExec, MessagesLargerThanTheRingTravelInPieces) {
  Pool pool(spawned(1));
  std::string big(6u << 20, 'y');  // over a record: sent (and answered) as fragments
  const std::string out = pool.apply(shout, big);
  ASSERT_EQ(out.size(), big.size() + 1);
  EXPECT_EQ(out.back(), '!');
}

TEST_P(PoolExec, ACrashingItemFailsAloneAndThePoolGoesOn) {
  Pool pool(spawned());
  std::vector<int> in(200);
  std::iota(in.begin(), in.end(), 0);
  const auto out = pool.try_map(crash_on_96, in);
  ASSERT_EQ(out.size(), in.size());
  for (int x : in) {
    const auto& r = out[static_cast<std::size_t>(x)];
    if (x == 96) {
      ASSERT_FALSE(r.ok());
      EXPECT_THROW(std::rethrow_exception(r.error()), mproc::WorkerCrashed);
    } else {
      ASSERT_TRUE(r.ok()) << x;
      EXPECT_EQ(r.value(), x + 1);
    }
  }
  EXPECT_EQ(pool.apply(square, 9), 81);
  EXPECT_EQ(pool.worker_pids().size(), 2u);
}

TEST_P(PoolExec, ATaskExceptionIsARemoteError) {
  Pool pool(spawned());
  const auto out = pool.try_map(throw_on_odd, std::vector<int>{0, 1, 2});
  EXPECT_EQ(out[0].value(), 0);
  EXPECT_EQ(out[2].value(), 2);
  ASSERT_FALSE(out[1].ok());
  try {
    std::rethrow_exception(out[1].error());
  } catch (const mproc::RemoteError& e) {
    EXPECT_NE(std::string(e.what()).find("odd input 1"), std::string::npos) << e.what();
  }
}

TEST_P(PoolExec, RetriesRunACrashedItemOnAFreshWorker) {
  TempDir dir;
  Pool pool(PoolOptions{.processes = 2, .start_method = GetParam(), .retries = 2});
  EXPECT_EQ(pool.apply(crash_first_time, dir.file("flaky")), 7);
  EXPECT_THROW(pool.apply(always_crash, 0), mproc::WorkerCrashed);
  EXPECT_EQ(pool.apply(square, 5), 25);
}

TEST_P(PoolExec, AThrowingInitializerFailsClearly) {
  try {
    Pool pool(PoolOptions{.processes = 2, .start_method = GetParam(),
                          .initializer = throwing_init});
    (void)pool.map(square, std::vector<int>{1, 2, 3});
    FAIL() << "expected an error";
  } catch (const mproc::Error& e) {
    EXPECT_NE(std::string(e.what()).find("no database"), std::string::npos) << e.what();
  }
}

TEST_P(PoolExec, MemoryLimitFailsTheItemAlone) {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  GTEST_SKIP() << "RLIMIT_AS cannot bound a sanitized process; the plain build runs this test";
#endif
  Pool pool(PoolOptions{.processes = 1, .start_method = GetParam(),
                        .memory_limit_bytes = 64u << 20});
  const auto rs = pool.try_map(alloc_mib, std::vector<int>{1, 512, 1});
  EXPECT_TRUE(rs[0].ok());
  EXPECT_FALSE(rs[1].ok());
  EXPECT_TRUE(rs[2].ok());
}

TEST_P(PoolExec, TaskTimeoutKillsAndReplacesTheWorker) {
  Pool pool(PoolOptions{.processes = 1, .start_method = GetParam(),
                        .task_timeout = std::chrono::milliseconds(300)});
  const auto before = pool.worker_pids();
  const auto out = pool.try_map(hang_on_7, std::vector<int>{5, 6, 7, 8}, 1);
  ASSERT_EQ(out.size(), 4u);
  EXPECT_EQ(out[0].value(), 5);
  EXPECT_EQ(out[3].value(), 8);
  ASSERT_FALSE(out[2].ok());
  EXPECT_THROW(std::rethrow_exception(out[2].error()), mproc::TaskTimeout);
  EXPECT_EQ(pool.apply(square, 3), 9);
  EXPECT_NE(pool.worker_pids(), before);
}

TEST_P(PoolExec, MaxTasksPerChildRecyclesWorkers) {
  Pool pool(PoolOptions{.processes = 1, .start_method = GetParam(),
                        .max_tasks_per_child = 2});
  const auto pids = pool.map(my_pid, std::vector<int>(8, 0), 1);
  const std::set<int> distinct(pids.begin(), pids.end());
  EXPECT_EQ(distinct.size(), 4u);  // two items per worker
}

TEST_P(PoolExec, AnInitializerFunctionRunsInEveryWorker) {
  Pool pool(PoolOptions{.processes = 2, .start_method = GetParam(),
                        .initializer = remember_pid, .max_tasks_per_child = 3});
  const auto out = pool.map(pid_and_init, std::vector<int>(12, 0), 1);
  for (const auto& [pid, init] : out) EXPECT_EQ(init, pid);  // replacements ran it too
}

TEST_P(PoolExec, WhatCannotCrossIsAnError) {
  std::string state = "captured";
  // A closure in the std::function: it lives in this process's memory only.
  EXPECT_THROW(Pool(PoolOptions{.processes = 1, .start_method = GetParam(),
                                .initializer = [state] { (void)state.size(); }}),
               mproc::Error);
  Pool pool(spawned(1));
  int (*none)(int) = nullptr;
  EXPECT_THROW((void)pool.apply(none, 1), mproc::Error);
  EXPECT_THROW((void)pool.map(none, std::vector<int>{1, 2}), mproc::Error);
  EXPECT_EQ(pool.apply(square, 4), 16);  // the pool is fine
}

// A function the workers cannot find (its library is loaded here only) fails its items with the
// reason, and the pool goes on; a forked pool has the library and runs it.
TEST_P(PoolExec, AFunctionInALibraryTheWorkersLackFailsItsItems) {
  void* plugin = ::dlopen(MPROC_REMOTE_PLUGIN, RTLD_NOW | RTLD_LOCAL);
  ASSERT_NE(plugin, nullptr) << ::dlerror();
  auto* answer = reinterpret_cast<int (*)()>(::dlsym(plugin, "mproc_remote_plugin_answer"));
  ASSERT_NE(answer, nullptr);
  {
    Pool forked(PoolOptions{.processes = 1, .start_method = StartMethod::fork});
    EXPECT_EQ(forked.apply(answer), 42);
    Pool pool(spawned(1));
    try {
      (void)pool.apply(answer);
      ADD_FAILURE() << "expected an error";
    } catch (const mproc::RemoteError& e) {
      const std::string what = e.what();
      EXPECT_NE(what.find("cannot run in a spawned pool worker"), std::string::npos) << what;
      EXPECT_NE(what.find("libmproc_remote_plugin.so"), std::string::npos) << what;
    }
    EXPECT_EQ(pool.apply(square, 6), 36);
  }
  ::dlclose(plugin);
}

TEST_P(PoolExec, TheProcessWideDefaultCounts) {
  mproc::set_start_method(GetParam());
  int seen = -1;
  g_parent_marker = 7;  // a forked worker would see it
  try {
    Pool pool(1);
    seen = pool.apply(read_marker);
  } catch (...) {
  }
  mproc::set_start_method(StartMethod::fork);
  g_parent_marker = 0;
  EXPECT_EQ(seen, 0);
}

// Spawning execs: threads holding locks in the parent (here: a mutex and malloc's) cannot
// deadlock a worker, as they can with fork.
TEST_P(PoolExec, BusyThreadsHoldingLocksDoNotHangTheWorkers) {
  std::atomic<bool> stop{false};
  std::mutex mu;
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (std::size_t n = 0; !stop.load(std::memory_order_relaxed); ++n) {
        std::lock_guard lock(mu);
        std::vector<char> v(4096 + (static_cast<std::size_t>(t) * 509 + n * 31) % 4096);
        v[0] = 1;
      }
    });
  }
  std::vector<int> in(10'000);
  std::iota(in.begin(), in.end(), 0);
  bool all_right = true;
  for (int round = 0; round < 20 && all_right; ++round) {
    Pool pool(spawned());
    const auto out = pool.map(square, in);
    all_right = out.size() == in.size();
    for (std::size_t i = 0; all_right && i < in.size(); ++i) all_right = out[i] == in[i] * in[i];
  }
  stop = true;
  for (auto& t : threads) t.join();
  EXPECT_TRUE(all_right);
}

INSTANTIATE_TEST_SUITE_P(StartMethods, PoolExec,
                         testing::Values(StartMethod::spawn, StartMethod::forkserver),
                         [](const testing::TestParamInfo<StartMethod>& info) {
                           return std::string(mproc::to_string(info.param));
                         });

}  // namespace
