// PoolOptions::soft_timeout under every start method: a task asked to stop (its std::stop_token,
// mproc::stop_requested()) that returns delivers its value, one that throws fails with the soft
// TaskTimeout, one that goes on is killed at task_timeout (the hard TaskTimeout). No case waits
// on the clock: a task waits for the request itself, which the soft timeout guarantees.
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <stop_token>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "pool_params.hpp"

namespace {

using namespace std::chrono_literals;
using mproc::Pool;
using mproc::PoolOptions;
using mproc::TaskTimeout;
using mproc::TimeoutLimit;

class PoolSoftTimeout : public mproc::test::PoolParam {
 protected:
  [[nodiscard]] static PoolOptions soft(std::chrono::milliseconds soft_limit,
                                        std::chrono::milliseconds hard_limit = 120s,
                                        unsigned processes = 2) {
    auto o = opts(processes);
    o.soft_timeout = soft_limit;
    o.task_timeout = hard_limit;
    return o;
  }
};

// Blocks until st is asked to stop.
void wait_for_stop(const std::stop_token& st) {
  std::mutex m;
  std::condition_variable_any cv;
  std::unique_lock lk(m);
  cv.wait(lk, st, [] { return false; });
}

int finish_early(int x, std::stop_token st) {
  wait_for_stop(st);
  return x + 1000;
}

int throw_on_stop(int x, std::stop_token st) {
  wait_for_stop(st);
  if (x == 1) throw std::runtime_error("gave up on item one");
  mproc::throw_if_stop_requested();
  return x;
}

int ignore_stop(int x) {
  if (x == 2) {
    for (;;) ::pause();  // until the hard limit's SIGTERM
  }
  return x;
}

int poll_stop_requested(int x) {
  while (!mproc::stop_requested()) std::this_thread::yield();
  return x * 2;
}

bool stop_requested_now(int) { return mproc::stop_requested(); }
bool token_can_stop(int, std::stop_token st) { return st.stop_possible(); }
int add_with_token(int a, int b, std::stop_token st) {
  wait_for_stop(st);
  return a + b;
}
int twice(int x) { return 2 * x; }

TEST_P(PoolSoftTimeout, StopTokenTaskThatReturnsDeliversItsValue) {
  Pool pool(soft(30ms));
  EXPECT_EQ(pool.map(finish_early, std::vector<int>{1, 2, 3}),
            (std::vector<int>{1001, 1002, 1003}));
}

TEST_P(PoolSoftTimeout, TaskThatThrowsAfterTheRequestFailsWithSoftTimeout) {
  Pool pool(soft(30ms));
  const auto out = pool.try_map(throw_on_stop, std::vector<int>{0, 1});
  ASSERT_EQ(out.size(), 2u);
  for (std::size_t i = 0; i < out.size(); ++i) {
    ASSERT_FALSE(out[i].ok());
    try {
      std::rethrow_exception(out[i].error());
    } catch (const TaskTimeout& e) {
      EXPECT_EQ(e.limit(), TimeoutLimit::soft);
      EXPECT_EQ(e.timeout(), 30ms);
      EXPECT_EQ(e.index(), i);
      EXPECT_NE(e.pid(), 0);
      EXPECT_NE(std::string(e.what()).find("soft timeout"), std::string::npos) << e.what();
    }
  }
  // The task's own exception is named in the error.
  try {
    std::rethrow_exception(out[1].error());
  } catch (const TaskTimeout& e) {
    EXPECT_NE(e.task_error().find("gave up on item one"), std::string::npos) << e.task_error();
  }
  try {
    std::rethrow_exception(out[0].error());
  } catch (const TaskTimeout& e) {
    EXPECT_EQ(e.task_error(), "mproc::TaskTimeout (throw_if_stop_requested)");
  }
  // The worker lives on: a soft timeout is not a crash.
  EXPECT_EQ(pool.apply(twice, 21), 42);
}

TEST_P(PoolSoftTimeout, TaskThatIgnoresTheRequestIsKilledAtTheHardLimit) {
  Pool pool(soft(20ms, 300ms));
  const auto out = pool.try_map(ignore_stop, std::vector<int>{1, 2, 3});
  ASSERT_TRUE(out[0].ok());
  ASSERT_TRUE(out[2].ok());
  ASSERT_FALSE(out[1].ok());
  try {
    std::rethrow_exception(out[1].error());
  } catch (const TaskTimeout& e) {
    EXPECT_EQ(e.limit(), TimeoutLimit::hard);
    EXPECT_EQ(e.timeout(), 300ms);
    EXPECT_EQ(e.index(), 1u);
    EXPECT_NE(std::string(e.what()).find("the worker was killed"), std::string::npos);
  }
}

TEST_P(PoolSoftTimeout, StopRequestedQueryTurnsTrueAndResetsForTheNextItem) {
  Pool pool(soft(20ms, 120s, 1));
  EXPECT_EQ(pool.map(poll_stop_requested, std::vector<int>{1, 2}), (std::vector<int>{2, 4}));
  // The next item starts with nothing requested, on the same worker.
  EXPECT_FALSE(pool.apply(stop_requested_now, 0));
  EXPECT_FALSE(mproc::stop_requested());  // never in the parent
  EXPECT_NO_THROW(mproc::throw_if_stop_requested());
}

TEST_P(PoolSoftTimeout, StarmapAndApplyPassTheTokenAfterTheArguments) {
  Pool pool(soft(20ms));
  EXPECT_EQ(pool.apply(add_with_token, 2, 3), 5);
  const std::vector<std::tuple<int, int>> pairs{{1, 2}, {3, 4}};
  EXPECT_EQ(pool.starmap(add_with_token, pairs), (std::vector<int>{3, 7}));
}

TEST_P(PoolSoftTimeout, TasksWithoutATokenAreUnaffected) {
  Pool pool(soft(60'000ms));
  std::vector<int> xs(2000);
  for (int i = 0; i < 2000; ++i) xs[static_cast<std::size_t>(i)] = i;
  const auto out = pool.map(twice, xs);
  for (int i = 0; i < 2000; ++i) ASSERT_EQ(out[static_cast<std::size_t>(i)], 2 * i);
  EXPECT_FALSE(pool.apply(stop_requested_now, 0));
}

TEST_P(PoolSoftTimeout, WithoutASoftTimeoutTheTokenNeverStops) {
  Pool pool(opts(1));
  EXPECT_FALSE(pool.apply(token_can_stop, 0));
  EXPECT_FALSE(pool.apply(stop_requested_now, 0));
}

TEST_P(PoolSoftTimeout, SoftLimitNotBelowTheHardOneIsAnError) {
  EXPECT_THROW(Pool{soft(100ms, 100ms)}, mproc::Error);
  EXPECT_THROW(Pool{soft(200ms, 100ms)}, mproc::Error);
  EXPECT_THROW(Pool{soft(-1ms, 100ms)}, mproc::Error);
  try {
    Pool p(soft(200ms, 100ms));
    ADD_FAILURE() << "no error";
  } catch (const mproc::Error& e) {
    EXPECT_NE(std::string(e.what()).find("soft_timeout"), std::string::npos) << e.what();
  }
}

// The timer thread starts before the sandbox and is held to it too (the filter covers every
// thread): the request still arrives.
TEST_P(PoolSoftTimeout, WorksInsideTheSandbox) {
  auto o = soft(20ms);
  o.sandbox = mproc::Sandbox{};
  std::optional<Pool> pool;
  try {
    pool.emplace(o);
  } catch (const mproc::Error& e) {
    GTEST_SKIP() << e.what();  // a build without libseccomp
  }
  EXPECT_EQ(pool->map(finish_early, std::vector<int>{1, 2}), (std::vector<int>{1001, 1002}));
}

MPROC_ALL_START_METHODS(PoolSoftTimeout);

}  // namespace
