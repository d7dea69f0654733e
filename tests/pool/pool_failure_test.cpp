// Pool failure semantics: a task that throws, crashes, hangs, leaks or kills its worker costs
// that item only; the pool replaces the worker and every other item completes exactly once.
// Every case runs under each start method (PoolFailure.<Case>/fork, /forkserver, /spawn): what a
// worker counts goes through a SharedState (pool_params.hpp), as it shares no memory with the
// test under forkserver and spawn.
#include <gtest/gtest.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <map>
#include <new>
#include <numeric>
#include <ranges>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "mproc/mproc.hpp"
#include "pool_params.hpp"

namespace {

using mproc::test::At;
using mproc::test::StateName;

// What the tasks count, shared by the workers and the test.
struct Counts {
  std::atomic<int> attempts[64];
  std::atomic<int> runs[1000];
  std::atomic<int> attempt_pids[8];
  std::atomic<int> spinning;  // tasks that started spinning
  std::atomic<int> running;   // tasks that started (and block)
};
using State = mproc::test::SharedState<Counts>;
Counts& counts(const StateName& name) { return mproc::test::attach_state<Counts>(name); }

// What the initializers count (they take no argument: see InitState).
struct Inits {
  std::atomic<int> inits;
};
using InitState = mproc::test::InitState<Inits>;

class PoolFailure : public mproc::test::PoolParam {};

__attribute__((noinline, no_sanitize("undefined"))) void crash_here() {
  volatile int* volatile p = nullptr;
  *p = 42;
}

int segv_every_97th(int x) {
  if (x % 97 == 96) crash_here();
  return x * 3;
}

int count_and_segv_every_97th(At a) {
  counts(a.state).runs[a.x].fetch_add(1);
  return segv_every_97th(a.x);
}

int throw_on_odd(int x) {
  if (x % 2 == 1) throw std::invalid_argument("odd input " + std::to_string(x));
  return x;
}

int die_how(int how) {
  switch (how) {
    case 0:
      std::abort();
    case 1:
      ::_exit(3);
    case 2:
      ::_exit(0);
    default:
      return how;
  }
}

// x: whether to ignore SIGTERM.
int spin_forever(At a) {
  if (a.x != 0) ::signal(SIGTERM, SIG_IGN);
  counts(a.state).spinning.fetch_add(1);
  for (;;) {
  }
}

int count_then_pass_gate(StateName state, std::string gate) {
  counts(state).running.fetch_add(1);
  return mproc::test::pass_gate(gate);
}

int my_pid(int) { return ::getpid(); }

int flaky(StateName state, int slot) {
  // Crashes on the first attempt only.
  if (counts(state).attempts[slot].fetch_add(1) == 0) crash_here();
  return 7;
}

int poison(StateName state, int slot) {
  Counts& c = counts(state);
  const int attempt = c.attempts[slot].fetch_add(1);
  if (attempt < 8) c.attempt_pids[attempt].store(::getpid());
  crash_here();
  return 0;
}

void count_init() { InitState::attach().inits.fetch_add(1); }
int inits_seen(int) { return InitState::attach().inits.load(); }

void throwing_init() {
  InitState::attach().inits.fetch_add(1);
  throw std::runtime_error("no database");
}
void crashing_init() { crash_here(); }

int alloc_mib(int mib) {
  std::vector<char> v(static_cast<std::size_t>(mib) << 20, 1);
  return v[v.size() / 2];
}

int child_exit_code(int code) {
  mproc::Process p([](int c) { ::_exit(c); }, code);
  p.start();
  p.join();
  return p.exitcode().value_or(-1);
}

int nested_sum(int n) {
  mproc::Pool inner(2);
  auto v = inner.map([](int x) { return x + 1; }, std::views::iota(0, n));
  return std::accumulate(v.begin(), v.end(), 0);
}

bool alive(int pid) { return ::kill(pid, 0) == 0; }

TEST_P(PoolFailure, ExceptionBecomesRemoteErrorWithLowestIndex) {
  mproc::Pool pool(opts(2));
  try {
    pool.map(throw_on_odd, std::views::iota(0, 100));
    FAIL() << "map should have thrown";
  } catch (const mproc::RemoteError& e) {
    EXPECT_EQ(e.index(), 1u);
    EXPECT_EQ(e.type_name(), "std::invalid_argument");
    EXPECT_EQ(e.remote_what(), "odd input 1");
    EXPECT_NE(e.pid(), ::getpid());
    EXPECT_GT(e.pid(), 0);
  }
  EXPECT_EQ(pool.map(throw_on_odd, std::vector<int>{0, 2}), (std::vector<int>{0, 2}));
}

TEST_P(PoolFailure, EveryNinetySeventhSegfaultFailsAloneInTryMap) {
  mproc::Pool pool(opts(2));
  auto rs = pool.try_map(segv_every_97th, std::views::iota(0, 1000));
  ASSERT_EQ(rs.size(), 1000u);
  for (int i = 0; i < 1000; ++i) {
    if (i % 97 == 96) {
      ASSERT_FALSE(rs[i].ok()) << i;
      try {
        std::rethrow_exception(rs[i].error());
      } catch (const mproc::WorkerCrashed& e) {
        EXPECT_EQ(e.index(), static_cast<std::size_t>(i));
        EXPECT_EQ(e.signal(), SIGSEGV);
        EXPECT_GT(e.pid(), 0);
      } catch (...) {
        ADD_FAILURE() << "item " << i << " failed with something else than WorkerCrashed";
      }
    } else {
      ASSERT_TRUE(rs[i].ok()) << i;
      EXPECT_EQ(rs[i].value(), 3 * i);
    }
  }
  auto pids = pool.worker_pids();
  EXPECT_EQ(pids.size(), 2u);
  for (int p : pids) EXPECT_TRUE(alive(p));
  EXPECT_EQ(pool.map(my_pid, std::views::iota(0, 10)).size(), 10u);
}

// Results of small items are gathered before they are published; a crash must neither lose
// the ones that finished nor run them again.
TEST_P(PoolFailure, EveryItemRunsExactlyOnceAcrossCrashes) {
  State state;
  mproc::Pool pool(opts(2));
  auto rs = pool.try_map(count_and_segv_every_97th, state.at(std::views::iota(0, 1000)));
  for (int i = 0; i < 1000; ++i) {
    EXPECT_EQ(state->runs[i].load(), 1) << "item " << i;
    EXPECT_EQ(rs[i].ok(), i % 97 != 96) << "item " << i;
  }
}

TEST_P(PoolFailure, AbortAndExitAreWorkerCrashed) {
  mproc::Pool pool(opts(2));
  auto rs = pool.try_map(die_how, std::vector<int>{0, 1, 2, 5});
  ASSERT_FALSE(rs[0].ok());
  ASSERT_FALSE(rs[1].ok());
  ASSERT_FALSE(rs[2].ok());
  try {
    std::rethrow_exception(rs[0].error());
  } catch (const mproc::WorkerCrashed& e) {
    EXPECT_EQ(e.signal(), SIGABRT);
  }
  try {
    std::rethrow_exception(rs[1].error());
  } catch (const mproc::WorkerCrashed& e) {
    EXPECT_EQ(e.exit_code(), 3);
    EXPECT_FALSE(e.signal());
  }
  try {
    std::rethrow_exception(rs[2].error());
  } catch (const mproc::WorkerCrashed& e) {
    EXPECT_EQ(e.exit_code(), 0);  // exiting mid-task is a crash, even with code 0
  }
  EXPECT_EQ(rs[3].value(), 5);
}

TEST_P(PoolFailure, SigkillFromOutsideFailsOnlyTheRunningItem) {
  State state;
  mproc::test::TempDir dir;
  mproc::test::Gate gate(dir);  // never opened: the item blocks until killed
  mproc::Pool pool(opts(1));
  auto blocked = pool.apply_async(count_then_pass_gate, state.name(), gate.path());
  // Find the worker and kill it while it runs the item.
  auto pids = pool.worker_pids();
  ASSERT_EQ(pids.size(), 1u);
  while (state->running.load() == 0) std::this_thread::yield();  // it runs the item
  ASSERT_EQ(::kill(pids[0], SIGKILL), 0);
  try {
    blocked.get();
    ADD_FAILURE() << "expected WorkerCrashed";
  } catch (const mproc::WorkerCrashed& e) {
    EXPECT_EQ(e.signal(), SIGKILL);
    EXPECT_EQ(e.pid(), pids[0]);
  }
  EXPECT_EQ(pool.apply(my_pid, 0) != pids[0], true);
}

TEST_P(PoolFailure, TimeoutKillsEvenAWorkerIgnoringSigterm) {
  State state;
  auto options = opts(2);
  options.task_timeout = std::chrono::milliseconds(200);
  mproc::Pool pool(options);
  auto rs = pool.try_map(spin_forever, state.at(std::vector<int>{0, 1}));
  for (int i = 0; i < 2; ++i) {
    ASSERT_FALSE(rs[i].ok());
    try {
      std::rethrow_exception(rs[i].error());
    } catch (const mproc::TaskTimeout& e) {
      EXPECT_EQ(e.index(), static_cast<std::size_t>(i));
      EXPECT_EQ(e.timeout(), std::chrono::milliseconds(200));
    }
  }
  EXPECT_EQ(pool.apply(die_how, 9), 9);  // replaced workers serve
}

TEST_P(PoolFailure, MaxTasksPerChildReplacesWorkersWithoutLosingItems) {
  auto options = opts(2);
  options.max_tasks_per_child = 5;
  mproc::Pool pool(options);
  auto pids = pool.map(my_pid, std::views::iota(0, 103));
  ASSERT_EQ(pids.size(), 103u);
  std::map<int, int> per_pid;
  for (int p : pids) ++per_pid[p];
  EXPECT_GE(per_pid.size(), 21u);  // ceil(103 / 5)
  for (auto [pid, n] : per_pid) EXPECT_LE(n, 5) << pid;
}

TEST_P(PoolFailure, InitializerRunsOnceInEveryWorkerAndReplacement) {
  InitState state;
  auto options = opts(2);
  options.initializer = count_init;
  mproc::Pool pool(options);
  auto rs = pool.try_map(segv_every_97th, std::views::iota(0, 97));  // one crash: one replacement
  EXPECT_FALSE(rs[96].ok());
  // Each worker saw the count when it started; all three started (2 + 1 replacement).
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (state->inits.load() < 3 && std::chrono::steady_clock::now() < deadline) {
    pool.apply(inits_seen, 0);
  }
  EXPECT_EQ(state->inits.load(), 3);
}

TEST_P(PoolFailure, ThrowingInitializerFailsClearlyWithoutRespawning) {
  InitState state;
  try {
    auto options = opts(2);
    options.initializer = throwing_init;
    mproc::Pool pool(options);
    pool.map(my_pid, std::views::iota(0, 10));
    FAIL() << "expected an error";
  } catch (const mproc::Error& e) {
    EXPECT_NE(std::string(e.what()).find("initializer"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("no database"), std::string::npos) << e.what();
  }
  EXPECT_LE(state->inits.load(), 2);  // the two first workers at most: nothing was respawned
}

TEST_P(PoolFailure, CrashingInitializerFailsClearly) {
  try {
    auto options = opts(2);
    options.initializer = crashing_init;
    mproc::Pool pool(options);
    pool.map(my_pid, std::views::iota(0, 10));
    FAIL() << "expected an error";
  } catch (const mproc::Error& e) {
    EXPECT_NE(std::string(e.what()).find("initializer crashed"), std::string::npos) << e.what();
  }
}

TEST_P(PoolFailure, TerminateStopsSpinnersAndCancelsPending) {
  State state;
  mproc::Pool pool(opts(2));
  std::vector<mproc::Future<int>> fs;
  for (int i = 0; i < 6; ++i) fs.push_back(pool.apply_async(spin_forever, At{state.name(), 1}));
  while (state->spinning.load() < 2) std::this_thread::yield();  // both spin, SIGTERM ignored
  pool.terminate();
  for (auto& f : fs) EXPECT_THROW(f.get(), mproc::Cancelled);
  EXPECT_THROW(pool.apply(my_pid, 0), mproc::PoolClosed);
  EXPECT_TRUE(pool.worker_pids().empty());
}

TEST_P(PoolFailure, RetriesRescueAFlakyItemAndGiveUpOnAPoisonOne) {
  State state;
  auto options = opts(2);
  options.retries = 2;
  mproc::Pool pool(options);
  EXPECT_EQ(pool.apply(flaky, state.name(), 0), 7);
  EXPECT_EQ(state->attempts[0].load(), 2);
  EXPECT_THROW(pool.apply(poison, state.name(), 1), mproc::WorkerCrashed);
  EXPECT_EQ(state->attempts[1].load(), 3);  // retries + 1
  // Each attempt ran in another process (a retry goes to a worker that has run nothing yet).
  const int p0 = state->attempt_pids[0].load(), p1 = state->attempt_pids[1].load(),
            p2 = state->attempt_pids[2].load();
  EXPECT_NE(p0, p1);
  EXPECT_NE(p1, p2);
  EXPECT_NE(p0, p2);
}

// "On a fresh worker": a retry never lands on a worker that already ran other items.
TEST_P(PoolFailure, RetryRunsOnAWorkerThatRanNothingBefore) {
  State state;
  auto options = opts(2);
  options.retries = 1;
  mproc::Pool pool(options);
  auto pids = pool.map(my_pid, std::views::iota(0, 20), 1);  // both workers run items
  std::set<int> used(pids.begin(), pids.end());
  ASSERT_EQ(used.size(), 2u);
  EXPECT_THROW(pool.apply(poison, state.name(), 3), mproc::WorkerCrashed);
  ASSERT_EQ(state->attempts[3].load(), 2);
  EXPECT_EQ(used.count(state->attempt_pids[1].load()), 0u);
}

TEST_P(PoolFailure, MemoryLimitFailsTheItemAlone) {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  GTEST_SKIP() << "RLIMIT_AS cannot bound a process whose sanitizer reserved terabytes of address "
                  "space; the plain build runs this test";
#endif
  auto options = opts(1);
  options.memory_limit_bytes = 64u << 20;
  mproc::Pool pool(options);
  auto rs = pool.try_map(alloc_mib, std::vector<int>{1, 512, 1});
  EXPECT_TRUE(rs[0].ok());
  ASSERT_FALSE(rs[1].ok());
  try {
    std::rethrow_exception(rs[1].error());
  } catch (const mproc::RemoteError& e) {
    EXPECT_EQ(e.type_name(), "std::bad_alloc");
  } catch (const mproc::WorkerCrashed&) {
  }
  EXPECT_TRUE(rs[2].ok());
}

TEST_P(PoolFailure, NestedPoolsWork) {
  mproc::Pool pool(opts(2));
  EXPECT_EQ(pool.map(nested_sum, std::vector<int>{3, 4}), (std::vector<int>{6, 10}));
  EXPECT_EQ(pool.apply(child_exit_code, 5), 5);  // a Process inside a task
}

TEST_P(PoolFailure, ManyThreadsShareOnePool) {
  mproc::Pool pool(opts(2));
  std::vector<std::thread> ts;
  std::atomic<int> ok{0};
  for (int t = 0; t < 4; ++t) {
    ts.emplace_back([&, t] {
      for (int k = 0; k < 20; ++k) {
        auto v = pool.map(segv_every_97th, std::views::iota(t * 10, t * 10 + 50));
        if (v.size() == 50 && v[0] == 3 * t * 10) ++ok;
      }
    });
  }
  for (auto& t : ts) t.join();
  EXPECT_EQ(ok.load(), 80);
}

TEST_P(PoolFailure, CancelDropsAQueuedCall) {
  mproc::test::TempDir dir;
  mproc::test::Gate gate(dir);
  {
    mproc::Pool pool(opts(1));
    using mproc::test::pass_gate;
    auto a = pool.apply_async(pass_gate, gate.path());
    auto b = pool.apply_async(pass_gate, gate.path());
    auto c = pool.apply_async(pass_gate, gate.path());  // the worker holds two; this one waits
    EXPECT_TRUE(c.cancel());
    EXPECT_THROW(c.get(), mproc::Cancelled);
    gate.open(2);
    EXPECT_EQ(a.get(), 1);
    EXPECT_EQ(b.get(), 1);
  }
}

// The app of WorkersDieWithAKilledParent: a pool, its workers' pids reported, then a wait to
// be killed.
TEST(PoolApp, DISABLED_PoolThenPause) {
  mproc::Pool pool(mproc::PoolOptions{.processes = 2,
                                      .start_method = mproc::test::App::start_method()});
  mproc::test::App::report_pids(pool.worker_pids());
  for (;;) ::pause();
}

// The parent is SIGKILLed: its workers must not outlive it. The parent is this binary run again
// (an App), with its pool under the case's start method.
TEST_P(PoolFailure, WorkersDieWithAKilledParent) {
  mproc::test::App app("PoolApp.DISABLED_PoolThenPause",
                       {{"MPROC_POOL_APP_METHOD", std::string(mproc::to_string(GetParam()))}});
  const std::vector<int> pids = app.read_pids();
  ASSERT_EQ(pids.size(), 2u);
  std::vector<int> pidfds;
  for (int p : pids) pidfds.push_back(static_cast<int>(::syscall(SYS_pidfd_open, p, 0)));
  ASSERT_EQ(::kill(app.pid(), SIGKILL), 0);
  (void)app.wait();
  for (std::size_t i = 0; i < pidfds.size(); ++i) {
    ASSERT_GE(pidfds[i], 0);
    pollfd pfd{pidfds[i], POLLIN, 0};
    EXPECT_EQ(::poll(&pfd, 1, 1000), 1)
        << "worker " << pids[i] << " outlived its parent by a second";
    ::close(pidfds[i]);
    // We are the subreaper: the orphan is ours to reap.
    ::waitpid(pids[i], nullptr, 0);
  }
}

}  // namespace

namespace {

TEST_P(PoolFailure, CrashReportNamesTheFunctionAndSignal) {
  mproc::Pool pool(opts(1));
  try {
    pool.map(segv_every_97th, std::views::iota(90, 100));
    FAIL() << "expected WorkerCrashed";
  } catch (const mproc::WorkerCrashed& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("SIGSEGV"), std::string::npos) << what;
    EXPECT_NE(what.find("task #6"), std::string::npos) << what;  // input 96 is index 6
    EXPECT_NE(what.find("crash_here"), std::string::npos) << what;
    EXPECT_NE(what.find(std::to_string(e.pid())), std::string::npos) << what;
    ASSERT_FALSE(e.frames().empty());
    EXPECT_NE(e.frames()[0].find("crash_here"), std::string::npos) << e.frames()[0];
    EXPECT_EQ(e.fault_address(), 0u);
    EXPECT_FALSE(e.oom_killed());
  }
}

TEST_P(PoolFailure, TerminateFromAnotherThreadCancelsARunningMap) {
  State state;
  mproc::Pool pool(opts(2));
  std::thread killer([&] {
    while (state->spinning.load() < 2) std::this_thread::yield();
    pool.terminate();
  });
  EXPECT_THROW(pool.map(spin_forever, state.at(std::vector<int>{1, 1, 1, 1})), mproc::Cancelled);
  killer.join();
}

// A call's input arrives in segments; terminate() between two of them must give the call
// Cancelled, not PoolClosed for the end of an input the pool had already accepted.
TEST_P(PoolFailure, TerminateBetweenInputSegmentsCancelsTheCall) {
  State state;
  using Fn = int (*)(At);
  auto core = std::make_shared<mproc::detail::PoolCore>(opts(1));
  auto batch = std::make_shared<mproc::detail::TryBatch<int>>(
      &mproc::detail::invoke_one<Fn, At>, mproc::detail::fn_word<Fn>(&spin_forever), 0, 1);
  mproc::detail::prepare_one<Fn, At>(*batch);
  auto seg = std::make_shared<mproc::detail::Segment>();
  mproc::detail::append_item<At>(*seg, At{state.name(), 1});
  core->submit(batch, seg, false);
  core->terminate();
  EXPECT_NO_THROW(core->submit(batch, std::make_shared<mproc::detail::Segment>(), true));
  core->wait_all(*batch, 1);
  auto rs = batch->take(1);
  EXPECT_THROW(std::rethrow_exception(rs[0].error()), mproc::Cancelled);
}

TEST_P(PoolFailure, ImapRaisesAtTheFailedItemAndGoesOn) {
  mproc::Pool pool(opts(2));
  std::vector<int> got;
  int errors = 0;
  auto range = pool.imap(throw_on_odd, std::views::iota(0, 6));
  auto it = range.begin();
  while (it != range.end()) {
    got.push_back(*it);
    try {
      ++it;
    } catch (const mproc::RemoteError& e) {
      ++errors;
      EXPECT_EQ(e.index() % 2, 1u);
      ++it;  // the range goes on after the failed item
    }
  }
  EXPECT_EQ(errors, 3);  // inputs 1, 3 and 5
  EXPECT_EQ(got, (std::vector<int>{0, 2, 4}));
}

MPROC_ALL_START_METHODS(PoolFailure);

}  // namespace
