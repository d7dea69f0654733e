// Pool with StartMethod::spawn and forkserver (each case runs under both): every worker is a
// fresh exec of this test binary, or a fork of the server init() started (init() in the
// test main makes it a worker), so it shares nothing with the test but its channel; the task
// reaches it named as {module, offset}. What only these start methods do is here: the suites of
// pool_test (Pool, PoolFailure, PoolReliability) run every other case under all three methods.
#include <dlfcn.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <functional>
#include <mutex>
#include <numeric>
#include <string>
#include <thread>
#include <vector>

#include "mproc/mproc.hpp"

namespace {

using mproc::Pool;
using mproc::PoolOptions;
using mproc::StartMethod;

class PoolExec : public testing::TestWithParam<StartMethod> {
 protected:
  [[nodiscard]] PoolOptions spawned(unsigned processes = 2) const {
    return PoolOptions{.processes = processes, .start_method = GetParam()};
  }
};

int square(int x) { return x * x; }
int add3(int a, int b, int c) { return a + b + c; }
int my_pid(int) { return static_cast<int>(::getpid()); }

// What the parent changes; a spawned worker (a fresh program) never sees it.
int g_parent_marker = 0;
int read_marker() { return g_parent_marker; }

TEST_P(PoolExec, ApplyRunsInAFreshProgram) {
  g_parent_marker = 42;  // a forked worker would see it
  Pool pool(spawned());
  EXPECT_EQ(pool.apply(read_marker), 0);
  EXPECT_EQ(pool.apply(add3, 1, 2, 3), 6);
  EXPECT_NE(pool.apply(my_pid, 0), static_cast<int>(::getpid()));
  g_parent_marker = 0;
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
