// PoolOptions::worker_state, mproc::worker_state<T>() and mproc::worker_id() under every start
// method: the state is built once per worker (after the initializer, before the sandbox), handed
// by reference to every task of that worker, rebuilt in replacements and destroyed when a worker
// exits normally; worker ids are 0..processes-1 and pass to replacements.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <map>
#include <mutex>
#include <numeric>
#include <optional>
#include <ranges>
#include <set>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "mproc/mproc.hpp"
#include "pool_params.hpp"

namespace {

using mproc::Pool;
using mproc::PoolOptions;
using mproc::StartMethod;
using mproc::WorkerState;
using mproc::test::PoolParam;
using namespace std::chrono_literals;

class WorkerStateTest : public PoolParam {};

void add_one(const mproc::Value<int>& v) {
  std::lock_guard guard(v.get_lock());
  v.store(v.load() + 1);
}

// A state that is neither copyable nor movable: built in place in the worker. It counts its
// builds and destructions in two Values the test made.
class Counter {
 public:
  Counter(mproc::Value<int> builds, mproc::Value<int> destroyed)
      : destroyed_(std::move(destroyed)), id_(mproc::worker_id()) {
    add_one(builds);
  }
  ~Counter() { add_one(destroyed_); }
  Counter(const Counter&) = delete;
  Counter& operator=(const Counter&) = delete;
  int bump() { return ++n_; }
  [[nodiscard]] int id() const { return id_; }

 private:
  mproc::Value<int> destroyed_;
  int id_;
  int n_ = 0;
};

Counter make_counter(mproc::Value<int> builds, mproc::Value<int> destroyed) {
  return Counter(std::move(builds), std::move(destroyed));
}

struct Seen {
  int pid = 0;
  int n = 0;         // the state's count after this task bumped it
  int id = 0;        // worker_id() in the task
  int built_as = 0;  // worker_id() when the state was built
};

Seen bump(int) {
  Counter& c = mproc::worker_state<Counter>();
  return Seen{static_cast<int>(::getpid()), c.bump(), mproc::worker_id(), c.id()};
}

// Per worker pid, the counts its tasks saw, in order.
std::map<int, std::vector<int>> counts_by_pid(const std::vector<Seen>& seen) {
  std::map<int, std::vector<int>> by_pid;
  for (const auto& s : seen) by_pid[s.pid].push_back(s.n);
  return by_pid;
}

TEST_P(WorkerStateTest, BuiltOncePerWorkerAndMutationsPersistAcrossItsTasks) {
  mproc::Value<int> builds(0);
  mproc::Value<int> destroyed(0);
  std::vector<Seen> seen;
  {
    Pool pool(PoolOptions{.processes = 2,
                          .start_method = GetParam(),
                          .worker_state = WorkerState(make_counter, builds, destroyed)});
    seen = pool.map(bump, std::views::iota(0, 60), 1);
    const auto more = pool.map(bump, std::views::iota(0, 20), 1);  // a second call: same states
    seen.insert(seen.end(), more.begin(), more.end());
    EXPECT_EQ(builds.load(), 2);
    EXPECT_EQ(destroyed.load(), 0);
  }
  EXPECT_EQ(builds.load(), 2);
  // Each worker's tasks saw 1, 2, 3, ...: one object per worker, mutated by each task in turn
  // (map returns results in input order, and one worker runs its items in input order).
  for (const auto& [pid, ns] : counts_by_pid(seen)) {
    std::vector<int> want(ns.size());
    std::iota(want.begin(), want.end(), 1);
    EXPECT_EQ(ns, want) << "worker " << pid;
  }
}

TEST_P(WorkerStateTest, DestructorRunsInEachWorkerAtCleanShutdown) {
  mproc::Value<int> builds(0);
  mproc::Value<int> destroyed(0);
  {
    Pool pool(PoolOptions{.processes = 3,
                          .start_method = GetParam(),
                          .worker_state = WorkerState(make_counter, builds, destroyed)});
    (void)pool.map(bump, std::views::iota(0, 9), 1);
    pool.close();
    pool.join();
  }
  EXPECT_EQ(builds.load(), 3);
  EXPECT_EQ(destroyed.load(), 3);
}

TEST_P(WorkerStateTest, RebuiltInEveryRecycledWorker) {
  mproc::Value<int> builds(0);
  mproc::Value<int> destroyed(0);
  std::vector<Seen> seen;
  {
    Pool pool(PoolOptions{.processes = 2,
                          .start_method = GetParam(),
                          .max_tasks_per_child = 3,
                          .worker_state = WorkerState(make_counter, builds, destroyed)});
    seen = pool.map(bump, std::views::iota(0, 12), 1);
  }
  const auto by_pid = counts_by_pid(seen);
  EXPECT_GE(by_pid.size(), 4u);  // 12 items, 3 per worker
  for (const auto& [pid, ns] : by_pid) {
    std::vector<int> want(ns.size());
    std::iota(want.begin(), want.end(), 1);
    EXPECT_EQ(ns, want) << "worker " << pid << " got a used state";
    EXPECT_LE(ns.size(), 3u);
  }
  // Workers started but given no item (the pool keeps 2 alive until the end) build one too.
  EXPECT_GE(builds.load(), static_cast<int>(by_pid.size()));
  EXPECT_LE(builds.load(), static_cast<int>(by_pid.size()) + 2);
  EXPECT_EQ(destroyed.load(), builds.load());  // recycled and joined workers all exit normally
}

// Worker ids: each worker's factory reports (pid, worker_id()).
std::pair<int, int> report_id(mproc::Queue<std::pair<int, int>> log) {
  const std::pair<int, int> me{static_cast<int>(::getpid()), mproc::worker_id()};
  log.put(me);
  return me;
}

TEST_P(WorkerStateTest, WorkerIdsAreZeroToProcessesMinusOneAndStableInAWorker) {
  mproc::Queue<std::pair<int, int>> log;
  std::vector<Seen> seen;
  std::vector<std::pair<int, int>> states;
  {
    Pool pool(PoolOptions{
        .processes = 3, .start_method = GetParam(), .worker_state = WorkerState(report_id, log)});
    states = pool.map(
        [](int) {
          return std::pair<int, int>{mproc::worker_state<std::pair<int, int>>().second,
                                     mproc::worker_id()};
        },
        std::views::iota(0, 30), 1);
  }
  std::set<int> ids;
  std::set<int> pids;
  for (int i = 0; i < 3; ++i) {
    const auto entry = log.get(10s);
    ASSERT_TRUE(entry.has_value());
    ids.insert(entry->second);
    pids.insert(entry->first);
  }
  EXPECT_EQ(ids, (std::set<int>{0, 1, 2}));
  EXPECT_EQ(pids.size(), 3u);
  EXPECT_FALSE(log.try_get().has_value());  // one build per worker
  for (const auto& [built_as, now] : states) {
    EXPECT_EQ(built_as, now);
    EXPECT_GE(now, 0);
    EXPECT_LT(now, 3);
  }
}

__attribute__((noinline, no_sanitize("undefined"))) int crash(int) {
  volatile int* volatile p = nullptr;
  *p = 42;
  return 0;
}

TEST_P(WorkerStateTest, AReplacementWorkerTakesTheCrashedWorkersId) {
  mproc::Queue<std::pair<int, int>> log;
  Pool pool(PoolOptions{
      .processes = 2, .start_method = GetParam(), .worker_state = WorkerState(report_id, log)});
  int crashed_pid = 0;
  try {
    (void)pool.apply(crash, 0);
    FAIL() << "the task crashed its worker";
  } catch (const mproc::WorkerCrashed& e) {
    crashed_pid = e.pid();
  }
  // Two first workers, then the replacement (built whether or not it gets an item).
  std::map<int, int> id_of;
  for (int i = 0; i < 3; ++i) {
    const auto entry = log.get(10s);
    ASSERT_TRUE(entry.has_value());
    id_of[entry->first] = entry->second;
  }
  ASSERT_EQ(id_of.size(), 3u);
  ASSERT_TRUE(id_of.contains(crashed_pid));
  const int crashed_id = id_of[crashed_pid];
  std::vector<int> ids;
  for (const auto& [pid, id] : id_of) ids.push_back(id);
  EXPECT_EQ(std::count(ids.begin(), ids.end(), crashed_id), 2)
      << "ids: " << ::testing::PrintToString(ids);
  EXPECT_EQ(std::count(ids.begin(), ids.end(), 1 - crashed_id), 1);
  // The pool goes on, its tasks seeing their own worker's state.
  const auto after =
      pool.map([](int) { return mproc::worker_state<std::pair<int, int>>().first == ::getpid(); },
               std::views::iota(0, 10), 1);
  EXPECT_EQ(std::count(after.begin(), after.end(), true), 10);
}

int wrong_type(int) { return static_cast<int>(mproc::worker_state<double>()); }

TEST_P(WorkerStateTest, ATypeOtherThanTheFactorysThrows) {
  mproc::Value<int> builds(0);
  mproc::Value<int> destroyed(0);
  Pool pool(PoolOptions{.processes = 1,
                        .start_method = GetParam(),
                        .worker_state = WorkerState(make_counter, builds, destroyed)});
  try {
    (void)pool.apply(wrong_type, 0);
    FAIL() << "worker_state<double>() of a Counter state";
  } catch (const mproc::RemoteError& e) {
    EXPECT_NE(e.remote_what().find("Counter, not double"), std::string::npos) << e.what();
  }
}

int state_of_stateless_pool(int) { return mproc::worker_state<int>(); }

TEST_P(WorkerStateTest, APoolWithoutStateThrowsAndStillHasWorkerIds) {
  Pool pool(PoolOptions{.processes = 2, .start_method = GetParam()});
  try {
    (void)pool.apply(state_of_stateless_pool, 0);
    FAIL() << "worker_state<int>() in a pool without worker_state";
  } catch (const mproc::RemoteError& e) {
    EXPECT_NE(e.remote_what().find("has no worker_state"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(pool.apply([] { return mproc::has_worker_state(); }));
  const auto ids = pool.map([](int) { return mproc::worker_id(); }, std::views::iota(0, 20), 1);
  for (int id : ids) {
    EXPECT_GE(id, 0);
    EXPECT_LT(id, 2);
  }
}

TEST(WorkerStateOutside, ThrowsAndWorkerIdIsMinusOne) {
  EXPECT_EQ(mproc::worker_id(), -1);
  EXPECT_FALSE(mproc::has_worker_state());
  try {
    (void)mproc::worker_state<int>();
    FAIL() << "worker_state<int>() outside a pool worker";
  } catch (const mproc::Error& e) {
    EXPECT_NE(std::string(e.what()).find("outside a pool worker"), std::string::npos) << e.what();
  }
}

TEST(WorkerStateOutside, EmptyAndNullAreNoState) {
  int (*none)() = nullptr;
  EXPECT_FALSE(WorkerState(none));
  EXPECT_FALSE(WorkerState(nullptr));
  EXPECT_FALSE(WorkerState{});
  EXPECT_EQ(WorkerState{}.type(), typeid(void));
  EXPECT_TRUE(WorkerState{}.build() == nullptr);
  EXPECT_EQ(WorkerState([] { return 1.5; }).type(), typeid(double));
}

// The state is built after the initializer, so it may use what the initializer set up.
int g_initialized = 0;
void initialize() { g_initialized = 7; }
int read_initialized() { return g_initialized * 10; }

TEST_P(WorkerStateTest, BuiltAfterTheInitializer) {
  Pool pool(PoolOptions{.processes = 2,
                        .start_method = GetParam(),
                        .initializer = initialize,
                        .worker_state = WorkerState(read_initialized)});
  const auto got =
      pool.map([](int) { return mproc::worker_state<int>(); }, std::views::iota(0, 8), 1);
  EXPECT_EQ(got, std::vector<int>(8, 70));
}

// A factory that throws breaks the pool as a throwing initializer does, and names itself.
int throwing_factory(mproc::Value<int> builds) {
  add_one(builds);
  throw std::runtime_error("no database");
}

TEST_P(WorkerStateTest, AThrowingFactoryFailsThePoolClearlyWithoutRespawning) {
  mproc::Value<int> builds(0);
  try {
    Pool pool(PoolOptions{.processes = 2,
                          .start_method = GetParam(),
                          .worker_state = WorkerState(throwing_factory, builds)});
    (void)pool.map(bump, std::views::iota(0, 10));
    FAIL() << "expected an error";
  } catch (const mproc::Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("worker_state factory failed"), std::string::npos) << what;
    EXPECT_NE(what.find("no database"), std::string::npos) << what;
  }
  EXPECT_LE(builds.load(), 2);  // the two first workers at most: nothing was respawned
}

int crashing_factory() { return crash(0); }

TEST_P(WorkerStateTest, ACrashingFactoryFailsThePoolClearly) {
  try {
    Pool pool(PoolOptions{
        .processes = 2, .start_method = GetParam(), .worker_state = WorkerState(crashing_factory)});
    (void)pool.map(bump, std::views::iota(0, 10));
    FAIL() << "expected an error";
  } catch (const mproc::Error& e) {
    EXPECT_NE(std::string(e.what()).find("worker_state factory crashed"), std::string::npos)
        << e.what();
  }
}

TEST_P(WorkerStateTest, AClosureOverAStringWorksOnlyUnderFork) {
  const std::string name = "captured";
  const WorkerState state([name] { return name; });
  EXPECT_FALSE(state.for_exec());
  const PoolOptions options{.processes = 1, .start_method = GetParam(), .worker_state = state};
  if (forked()) {
    Pool pool(options);
    EXPECT_EQ(pool.apply([] { return mproc::worker_state<std::string>(); }), "captured");
  } else {
    try {
      Pool pool(options);
      ADD_FAILURE() << "a closure over a std::string cannot reach a "
                    << mproc::to_string(GetParam()) << " worker";
    } catch (const mproc::Error& e) {
      EXPECT_NE(std::string(e.what()).find("worker_state factory must be a task function"),
                std::string::npos)
          << e.what();
    }
  }
}

// The state is built before the sandbox: it may hold a file the sandboxed tasks could not open.
int open_dev_null() { return ::open("/dev/null", O_RDONLY | O_CLOEXEC); }
int task_open_errno(int) {
  const int fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (fd >= 0) ::close(fd);
  return fd >= 0 ? 0 : errno;
}

TEST_P(WorkerStateTest, BuiltBeforeTheSandbox) {
  PoolOptions options{.processes = 1,
                      .start_method = GetParam(),
                      .sandbox = mproc::Sandbox{},
                      .worker_state = WorkerState(open_dev_null)};
  std::optional<Pool> pool;
  try {
    pool.emplace(std::move(options));
  } catch (const mproc::Error& e) {
    if (std::string(e.what()).find("libseccomp") != std::string::npos) GTEST_SKIP() << e.what();
    throw;
  }
  EXPECT_GE(pool->apply([] { return mproc::worker_state<int>(); }), 0);
  EXPECT_NE(pool->apply(task_open_errno, 0), 0);  // refused from here on
}

MPROC_ALL_START_METHODS(WorkerStateTest);

}  // namespace
