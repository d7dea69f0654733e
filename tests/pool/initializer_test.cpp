// Pool initializers under every start method: a plain function, a captureless lambda, and
// Python's initializer + initargs as mproc::Initializer(fn, args...), whose handle arguments
// (Queue, Value, ...) reach spawned and forkserver workers as the same objects.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <numeric>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "mproc/mproc.hpp"

namespace {

using mproc::Initializer;
using mproc::Pool;
using mproc::PoolOptions;
using mproc::StartMethod;
using namespace std::chrono_literals;

class PoolInitializer : public testing::TestWithParam<StartMethod> {};

// Set in each worker by the initializers below.
std::optional<mproc::Queue<std::string>> g_log;
std::string g_tag;
int g_lambda_ran = 0;

void keep_log(mproc::Queue<std::string> log, std::string tag) {
  g_log = std::move(log);
  g_tag = std::move(tag);
}
int log_item(int x) {
  g_log->put(g_tag + ":" + std::to_string(x));
  return x;
}

TEST_P(PoolInitializer, ArgumentsIncludingAQueueReachEveryWorker) {
  mproc::Queue<std::string> log;
  Pool pool(PoolOptions{.processes = 2,
                        .start_method = GetParam(),
                        .initializer = Initializer(keep_log, log, std::string("w"))});
  std::vector<int> in(50);
  std::iota(in.begin(), in.end(), 0);
  EXPECT_EQ(pool.map(log_item, in, 1), in);
  std::set<std::string> seen;
  for (int i = 0; i < 50; ++i) seen.insert(log.get(10s).value_or("timeout"));
  std::set<std::string> want;
  for (int i = 0; i < 50; ++i) want.insert("w:" + std::to_string(i));
  EXPECT_EQ(seen, want);
}

void count_start(mproc::Value<int> starts) {
  std::lock_guard guard(starts.get_lock());
  starts.store(starts.load() + 1);
}
int pid_of(int) { return static_cast<int>(::getpid()); }

// Replacements run the initializer too, with the same arguments.
TEST_P(PoolInitializer, ReplacementWorkersRunItWithTheSameArguments) {
  mproc::Value<int> starts(0);
  std::vector<int> pids;
  {
    Pool pool(PoolOptions{.processes = 2,
                          .start_method = GetParam(),
                          .initializer = Initializer(count_start, starts),
                          .max_tasks_per_child = 3});
    std::vector<int> in(12, 0);
    pids = pool.map(pid_of, in, 1);
  }  // joined: every worker that started has run its initializer
  const std::set<int> distinct(pids.begin(), pids.end());
  EXPECT_GE(distinct.size(), 4u);  // 12 items, 3 per worker
  // Workers started but given no item (the pool keeps 2 alive until the end) count too.
  EXPECT_GE(starts.load(), static_cast<int>(distinct.size()));
  EXPECT_LE(starts.load(), static_cast<int>(distinct.size()) + 2);
}

int lambda_ran(int) { return g_lambda_ran; }

TEST_P(PoolInitializer, ACaptureLessLambdaIsATaskFunction) {
  Pool pool(PoolOptions{.processes = 1,
                        .start_method = GetParam(),
                        .initializer = [] { g_lambda_ran = 41; }});
  EXPECT_EQ(pool.apply(lambda_ran, 0), 41);
  EXPECT_EQ(g_lambda_ran, 0);  // not here
}

TEST_P(PoolInitializer, AClosureOverAStringWorksOnlyUnderFork) {
  const std::string name = "captured";
  const Initializer init([name] { g_tag = name; });
  EXPECT_FALSE(init.for_exec());
  const PoolOptions options{.processes = 1, .start_method = GetParam(), .initializer = init};
  if (GetParam() == StartMethod::fork) {
    Pool pool(options);
    EXPECT_EQ(pool.apply([] { return g_tag; }), "captured");
  } else {
    try {
      Pool pool(options);
      ADD_FAILURE() << "a closure over a std::string cannot reach a " << mproc::to_string(GetParam())
                    << " worker";
    } catch (const mproc::Error& e) {
      EXPECT_NE(std::string(e.what()).find("initializer must be a task function"),
                std::string::npos)
          << e.what();
    }
  }
}

TEST(PoolInitializerValue, EmptyAndNullAreNoInitializer) {
  void (*none)() = nullptr;
  EXPECT_FALSE(Initializer(none));
  EXPECT_FALSE(Initializer(std::function<void()>{}));
  EXPECT_FALSE(Initializer(nullptr));
  EXPECT_FALSE(Initializer{});
  EXPECT_TRUE(Initializer{}.for_exec());
  Initializer{}();  // a no-op
  Pool pool(PoolOptions{.processes = 1, .initializer = none});
  EXPECT_EQ(pool.apply(pid_of, 0) > 0, true);
}

TEST(PoolInitializerValue, CopiesShareTheStoredArguments) {
  mproc::Value<int> starts(0);
  const Initializer a(count_start, starts);
  const Initializer b = a;  // NOLINT(performance-unnecessary-copy-initialization)
  a();
  b();
  EXPECT_EQ(starts.load(), 2);
  std::vector<int> fds;
  EXPECT_FALSE(a.encode_for_exec(fds).empty());
  EXPECT_EQ(fds.size(), 1u);  // the Value's memfd
}

INSTANTIATE_TEST_SUITE_P(StartMethods, PoolInitializer,
                         testing::Values(StartMethod::fork, StartMethod::forkserver,
                                         StartMethod::spawn),
                         [](const testing::TestParamInfo<StartMethod>& info) {
                           return std::string(mproc::to_string(info.param));
                         });

}  // namespace
