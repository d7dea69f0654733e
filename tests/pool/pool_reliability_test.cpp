// Pool cases from RELIABILITY.md (groups A, B, C3, C7, D, F) not covered by pool_failure_test:
// each test names its case. Every case runs under each start method
// (PoolReliability.<Case>/fork, /forkserver, /spawn).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cerrno>
#include <chrono>
#include <numeric>
#include <optional>
#include <ranges>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "mproc/mproc.hpp"
#include "pool_params.hpp"
#include "support/proc_fds.hpp"
#include "support/child_guard.hpp"

namespace {

using mproc::test::At;

// What the tasks count, shared by the workers and the test.
struct Counts {
  std::atomic<int> running;
};
using State = mproc::test::SharedState<Counts>;

class PoolReliability : public mproc::test::PoolParam {};

__attribute__((noinline, no_sanitize("undefined"))) void crash_now() {
  volatile int* volatile p = nullptr;
  *p = 1;
}

int square(int x) { return x * x; }

int busy_square(int x) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::microseconds(200);
  while (std::chrono::steady_clock::now() < until) {
  }
  return x * x;
}

int sleep_ms(int ms) {
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));  // the workload, not a sync
  return ms;
}

int long_sleep(At a) {
  mproc::test::attach_state<Counts>(a.state).running.fetch_add(1);
  std::this_thread::sleep_for(std::chrono::hours(1));
  return 0;
}

int huge_error(int n) { throw std::runtime_error(std::string(static_cast<std::size_t>(n), 'e')); }

std::size_t crash_with_big_arg(const std::string& s) {
  if (!s.empty()) crash_now();
  return s.size();
}

std::string big_result(int n) { return std::string(static_cast<std::size_t>(n), 'r'); }

struct Picky {
  int v = 0;
  template <class Ar>
  void save(Ar& ar) const {
    if (v == 150) throw std::domain_error("150 cannot be encoded");
    ar(v);
  }
  template <class Ar>
  void load(Ar& ar) {
    ar(v);
  }
};
int picky_value(Picky p) { return p.v; }

bool in_worker = false;  // set by the initializer: true in workers only
void mark_worker() { in_worker = true; }

// A value whose destructor crashes in a worker (after its result was sent) when v == 7.
struct Boom {
  int v = 0;
  Boom() = default;
  explicit Boom(int x) : v(x) {}
  Boom(const Boom&) = default;
  Boom& operator=(const Boom&) = default;
  ~Boom() {
    if (in_worker && v == 7) crash_now();
  }
  template <class Ar>
  void serialize(Ar& ar) {
    ar(v);
  }
};
Boom make_boom(int v) { return Boom(v); }

// An argument whose decoding crashes the worker when v == 13.
struct Fragile {
  int v = 0;
  template <class Ar>
  void save(Ar& ar) const {
    ar(v);
  }
  template <class Ar>
  void load(Ar& ar) {
    ar(v);
    if (in_worker && v == 13) crash_now();
  }
};
int fragile_value(Fragile f) { return f.v; }

// A6: an input that cannot be encoded fails the call in the caller; nothing is lost or stuck.
TEST_P(PoolReliability, A6_EncodingFailureIsSynchronous) {
  mproc::Pool pool(opts(2));
  std::vector<Picky> in(300);
  for (int i = 0; i < 300; ++i) in[i].v = i;
  EXPECT_THROW(pool.map(picky_value, in), std::domain_error);
  in[150].v = 1;
  auto out = pool.map(picky_value, in);
  EXPECT_EQ(out[299], 299);
}

// A5: a crash while the worker decodes an item's arguments fails that item.
TEST_P(PoolReliability, A5_CrashWhileDecodingArguments) {
  auto options = opts(2);
  options.initializer = mark_worker;
  mproc::Pool pool(options);
  std::vector<Fragile> in(20);
  for (int i = 0; i < 20; ++i) in[i].v = i;
  auto rs = pool.try_map(fragile_value, in);
  for (int i = 0; i < 20; ++i) {
    if (i == 13) {
      EXPECT_THROW(std::rethrow_exception(rs[i].error()), mproc::WorkerCrashed);
    } else {
      EXPECT_EQ(rs[i].value(), i);
    }
  }
}

// A8: a crash after the item's result was sent: the item succeeded; the worker is replaced.
TEST_P(PoolReliability, A8_CrashAfterTheResultWasSent) {
  auto options = opts(1);
  options.initializer = mark_worker;
  mproc::Pool pool(options);
  const auto before = pool.worker_pids();
  auto rs = pool.try_map(make_boom, std::vector<int>{1, 7, 3});
  ASSERT_EQ(rs.size(), 3u);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(rs[i].ok()) << i;
  EXPECT_EQ(rs[1].value().v, 7);
  EXPECT_EQ(rs[2].value().v, 3);
  EXPECT_NE(pool.worker_pids(), before);
}

// A10: workers killed at random while a map runs: every item is accounted for, no hang.
// Fewer items under forkserver and spawn, to keep the suite short.
TEST_P(PoolReliability, A10_RandomKillsDuringAMap) {
  const int n = forked() ? 2000 : 500;
  mproc::Pool pool(opts(3));
  std::atomic<bool> stop{false};
  std::thread killer([&] {
    unsigned k = 0;
    std::uint64_t done_at_last_kill = 0;
    while (!stop.load()) {
      // A kill only once an item was done since the last: replacements (a spawned one takes
      // tens of ms to start under a sanitizer) must not all be killed before they start.
      const std::uint64_t done = pool.stats().total.items_done;
      auto pids = pool.worker_pids();
      if (!pids.empty() && (k == 0 || done != done_at_last_kill)) {
        ::kill(pids[k++ % pids.size()], SIGKILL);
        done_at_last_kill = done;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(3));  // the kill rate, not a sync
    }
  });
  auto rs = pool.try_map(busy_square, std::views::iota(0, n));
  stop = true;
  killer.join();
  ASSERT_EQ(rs.size(), static_cast<std::size_t>(n));
  int crashed = 0;
  for (int i = 0; i < n; ++i) {
    if (rs[i].ok()) {
      EXPECT_EQ(rs[i].value(), i * i);
    } else {
      ++crashed;
      EXPECT_THROW(std::rethrow_exception(rs[i].error()), mproc::WorkerCrashed);
    }
  }
  EXPECT_LT(crashed, n);
  EXPECT_EQ(pool.map(square, std::vector<int>{3}), (std::vector<int>{9}));
}

// B3: a timeout counts from the task's start, not from its submission.
TEST_P(PoolReliability, B3_TimeoutCountsFromTaskStart) {
  auto options = opts(1);
  options.task_timeout = std::chrono::milliseconds(300);
  mproc::Pool pool(options);
  auto out = pool.map(sleep_ms, std::vector<int>(6, 100), 1);  // 600 ms queued on one worker
  EXPECT_EQ(out, std::vector<int>(6, 100));
}

void hanging_init() { std::this_thread::sleep_for(std::chrono::hours(1)); }

// B4: an initializer that never returns is held to task_timeout: the pool fails clearly.
TEST_P(PoolReliability, B4_HangingInitializerBreaksThePoolInTime) {
  auto options = opts(2);
  options.initializer = hanging_init;
  options.task_timeout = std::chrono::milliseconds(200);
  mproc::Pool pool(options);
  try {
    pool.map(square, std::views::iota(0, 4));
    ADD_FAILURE() << "expected an error";
  } catch (const mproc::Error& e) {
    EXPECT_NE(std::string(e.what()).find("initializer ran past task_timeout"), std::string::npos)
        << e.what();
  }
  EXPECT_THROW(pool.apply(square, 1), mproc::Error);
}

// C4: the process limit is reached while the pool starts: a clear error, no worker left behind.
// Root is exempt from RLIMIT_NPROC, so the pool is made by a child running as an unprivileged user.
TEST_P(PoolReliability, C4_ProcessLimitFailsConstructionCleanly) {
  if (GetParam() == mproc::StartMethod::forkserver) {
    GTEST_SKIP() << "the pool is made by a forked copy of the test running as an unprivileged user under "
                    "RLIMIT_NPROC=2, and the forkserver serves only the process that ran init(); "
                    "an App (this binary run again) would need its own threads and forkserver "
                    "under that limit";
  }
  // RLIMIT_NPROC counts every process and thread of the user: each case gets a user of its own
  // (no passwd entry needed), or the cases ctest runs at the same time would share one budget.
  const unsigned uid = 60200 + static_cast<unsigned>(GetParam());
  mproc::test::ChildGuard guard;
  const int app = ::fork();
  ASSERT_GE(app, 0);
  if (app == 0) {
    if (::getuid() == 0 && (::setgid(uid) != 0 || ::setuid(uid) != 0)) ::_exit(10);
    rlimit lim{2, 2};  // this process and one more
    if (::setrlimit(RLIMIT_NPROC, &lim) != 0) ::_exit(11);
    try {
      mproc::Pool pool(opts(8));
      ::_exit(12);  // should not have started
    } catch (const mproc::Error& e) {
      const std::string what = e.what();
      ::_exit(what.find("Resource temporarily unavailable") != std::string::npos ? 0 : 13);
    }
  }
  guard.adopt(app);
  const int status = guard.reap(app);
  ASSERT_TRUE(WIFEXITED(status)) << status;
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

// B5: terminate() with thousands of queued tasks returns and resolves every future.
TEST_P(PoolReliability, B5_TerminateWithTenThousandQueued) {
  State state;
  mproc::Pool pool(opts(2));
  std::vector<mproc::Future<int>> fs;
  for (int i = 0; i < 10000; ++i) fs.push_back(pool.apply_async(long_sleep, At{state.name(), i}));
  while (state->running.load() < 2) std::this_thread::yield();
  pool.terminate();
  for (auto& f : fs) {
    ASSERT_TRUE(f.ready());
    EXPECT_THROW(f.get(), mproc::Cancelled);
  }
}

// B6: close()+join() while workers recycle after every task, and with a huge error payload.
TEST_P(PoolReliability, B6_JoinWhileRecyclingAndWithHugeErrors) {
  auto options = opts(2);
  options.max_tasks_per_child = 1;
  mproc::Pool pool(options);
  auto squares = pool.map_async(square, std::views::iota(0, 40));
  auto err = pool.apply_async(huge_error, 10 << 20);
  pool.close();
  pool.join();
  auto v = squares.get();
  for (int i = 0; i < 40; ++i) EXPECT_EQ(v[i], i * i);
  try {
    err.get();
    ADD_FAILURE() << "expected RemoteError";
  } catch (const mproc::RemoteError& e) {
    EXPECT_EQ(e.remote_what().size(), 10u << 20);
  }
}

// C3: too few fds for the pool: construction fails cleanly; no worker is left behind.
TEST_P(PoolReliability, C3_FdExhaustionFailsConstructionCleanly) {
#ifdef MPROC_UBSAN
  GTEST_SKIP() << "UBSan's vptr check probes memory through a pipe: with no fd free it reports "
                  "every object as invalid. The plain and TSan builds run this test.";
#endif
  rlimit old{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &old), 0);
  // New fds take the lowest free numbers, so the count is what matters.
  const int open_now = static_cast<int>(mproc::test::fd_count());
  rlimit low = old;
  low.rlim_cur = static_cast<rlim_t>(open_now + 12);
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &low), 0);
  bool threw = false;
  try {
    mproc::Pool pool(opts(32));
  } catch (const mproc::Error& e) {
    threw = true;
    EXPECT_NE(std::string(e.what()).find("Too many open files"), std::string::npos) << e.what();
  }
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &old), 0);
  EXPECT_TRUE(threw);
}

// C7: an input or a result over max_message_size is refused; the pool goes on.
TEST_P(PoolReliability, C7_MessagesOverTheLimitAreRefused) {
  auto options = opts(1);
  options.max_message_size = 1 << 20;
  mproc::Pool pool(options);
  EXPECT_THROW(pool.apply(crash_with_big_arg, std::string(2 << 20, 'a')), mproc::Error);
  try {
    pool.apply(big_result, 2 << 20);
    ADD_FAILURE() << "expected RemoteError";
  } catch (const mproc::RemoteError& e) {
    EXPECT_NE(e.remote_what().find("max_message_size"), std::string::npos) << e.what();
  }
  EXPECT_EQ(pool.apply(big_result, 1000).size(), 1000u);
}

// C8/F4: a worker that dies while a 50 MB argument is still arriving: no deadlock.
TEST_P(PoolReliability, C8_CrashWhileALargeArgumentIsInFlight) {
  mproc::Pool pool(opts(1));
  EXPECT_THROW(pool.apply(crash_with_big_arg, std::string(50 << 20, 'x')), mproc::WorkerCrashed);
  EXPECT_EQ(pool.apply(crash_with_big_arg, std::string()), 0u);
}

// Arguments bigger than a channel record go in pieces, each sent when the worker has made room:
// a stream of them must not stall (a lost wake-up here once hung the pool).
TEST_P(PoolReliability, ManyLargeArgumentsStreamThrough) {
  mproc::Pool pool(opts(1));
  std::vector<std::string> in;
  for (int i = 0; i < 12; ++i) in.emplace_back(std::size_t{5} << 20, static_cast<char>('a' + i));
  auto sizes = pool.map([](const std::string& s) { return s.size() + (s[0] - 'a'); }, in, 1);
  for (int i = 0; i < 12; ++i) EXPECT_EQ(sizes[i], (std::size_t{5} << 20) + i);
}

// Calls f(address, size) for each pool channel this process maps (a shared mapping of a
// channel's size, /proc/self/maps); false when the maps are unreadable.
template <class F>
bool for_each_channel_mapping(F f) {
  FILE* maps = std::fopen("/proc/self/maps", "re");
  if (maps == nullptr) return false;
  char line[512];
  while (std::fgets(line, sizeof line, maps) != nullptr) {
    unsigned long lo = 0, hi = 0;
    char perms[8] = {};
    if (std::sscanf(line, "%lx-%lx %7s", &lo, &hi, perms) != 3) continue;
    const unsigned long size = hi - lo;
    if (perms[3] == 's' && size > (8ul << 20) && size <= (8ul << 20) + (64ul << 10)) f(lo, size);
  }
  std::fclose(maps);
  return true;
}

// How many pool channels this process maps.
int channels_mapped(int) {
  int n = 0;
  if (!for_each_channel_mapping([&](unsigned long, unsigned long) { ++n; })) return -1;
  return n;
}

// I-style isolation: a worker maps its own channel only, so a task gone wild cannot scribble
// on a sibling's.
TEST_P(PoolReliability, AWorkerMapsOnlyItsOwnChannel) {
  mproc::Pool pool(opts(4));
  auto counts = pool.map(channels_mapped, std::views::iota(0, 64), 1);
  for (int c : counts) EXPECT_EQ(c, 1);
}

// A task gone wild on its own channel (issue 10's hostile worker): item 5 fills its worker's
// whole channel mapping, both rings and the status page, with pseudo-random bytes, then returns.
int scribble_on_5(int x) {
  if (x != 5) return x;
  const bool read = for_each_channel_mapping([](unsigned long lo, unsigned long size) {
    std::uint64_t state = 0x9e3779b97f4a7c15ull;
    auto* p = reinterpret_cast<std::uint64_t*>(lo);
    for (unsigned long i = 0; i < size / 8; ++i) {
      state ^= state << 13;
      state ^= state >> 7;
      state ^= state << 17;
      p[i] = state;
    }
  });
  return read ? x : -1;
}

TEST_P(PoolReliability, H_AWorkerThatScribblesOnItsChannelIsReplacedAndThePoolGoesOn) {
  mproc::Pool pool(opts(2));
  const auto out = pool.try_map(scribble_on_5, std::views::iota(0, 20), 1);  // returns: no hang
  ASSERT_EQ(out.size(), 20u);
  int failed = 0;
  for (int i = 0; i < 20; ++i) {
    const auto& r = out[static_cast<std::size_t>(i)];
    if (r.ok()) {
      EXPECT_EQ(r.value(), i);  // never a garbage value
      continue;
    }
    ++failed;
    EXPECT_THROW(std::rethrow_exception(r.error()), mproc::Error);  // the worker's items only
  }
  // Item 5's result went into garbage: it fails, or (its worker's status page being garbage too,
  // the parent cannot tell that it ran) it runs again on a fresh worker and gives 5.
  EXPECT_LE(failed, 4);  // the rest of its chunks were handed to a fresh worker
  // Garbage can also read as an empty ring: then the parent learns of it only when the worker,
  // handed its next task, finds its channel corrupt and exits (code 4) — one more item fails as
  // WorkerCrashed. After that the pool is whole again.
  const auto next = pool.try_map(square, std::views::iota(0, 100), 1);
  int next_failed = 0;
  for (int i = 0; i < 100; ++i) {
    const auto& r = next[static_cast<std::size_t>(i)];
    if (r.ok()) {
      EXPECT_EQ(r.value(), i * i);
    } else {
      ++next_failed;
      EXPECT_THROW(std::rethrow_exception(r.error()), mproc::WorkerCrashed);
    }
  }
  EXPECT_LE(next_failed, 1);
  const auto again = pool.map(square, std::views::iota(0, 100));
  EXPECT_EQ(again[99], 99 * 99);
}

// D3: a pool made in a thread that then exits keeps its workers (PDEATHSIG is thread-scoped).
TEST_P(PoolReliability, D3_PoolOutlivesTheThreadThatMadeIt) {
  std::optional<mproc::Pool> pool;
  std::thread([&] { pool.emplace(opts(2)); }).join();
  EXPECT_EQ(pool->map(square, std::views::iota(0, 10))[9], 81);
  EXPECT_EQ(pool->worker_pids().size(), 2u);
}

// The app of F1: a pool whose workers sleep in a map until Ctrl-C.
TEST(PoolApp, DISABLED_PoolSleepsInAMap) {
  mproc::Pool pool(mproc::PoolOptions{.processes = 2,
                                      .start_method = mproc::test::App::start_method()});
  auto pids = pool.worker_pids();
  mproc::test::App::report(pids.data(), sizeof(int) * pids.size());
  At item{};
  mproc::test::App::env("MPROC_POOL_APP_STATE").copy(item.state.text, sizeof item.state.text - 1);
  pool.map(long_sleep, std::vector<At>(4, item));
}

// F1: Ctrl-C (SIGINT to the whole process group) during a map: the app dies as it should, the
// workers ignore the SIGINT itself and go with their parent. The app is this binary run again
// in a process group of its own, with its pool under the case's start method.
TEST_P(PoolReliability, F1_CtrlCLeavesNoWorkers) {
  State state;
  mproc::test::App app("PoolApp.DISABLED_PoolSleepsInAMap",
                       {{"MPROC_POOL_APP_METHOD", std::string(mproc::to_string(GetParam()))},
                        {"MPROC_POOL_APP_STATE", state.name().text}},
                       /*own_group=*/true);
  int pids[2];
  ASSERT_TRUE(app.read_report(pids, sizeof pids));
  while (state->running.load() < 2) std::this_thread::yield();
  int pidfds[2];
  for (int i = 0; i < 2; ++i) pidfds[i] = static_cast<int>(::syscall(SYS_pidfd_open, pids[i], 0));
  ASSERT_EQ(::kill(-app.pid(), SIGINT), 0);  // the whole group, as a terminal does
  const int status = app.wait();
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGINT) << status;
  for (int i = 0; i < 2; ++i) {
    pollfd pfd{pidfds[i], POLLIN, 0};
    EXPECT_EQ(::poll(&pfd, 1, 1000), 1) << "worker " << pids[i] << " outlived the app";
    ::close(pidfds[i]);
    ::waitpid(pids[i], nullptr, 0);  // we are the subreaper
  }
}

// F2: a storm of signals at the waiting thread changes nothing.
TEST_P(PoolReliability, F2_SignalStormDuringMap) {
  struct sigaction sa {};
  struct sigaction old {};
  sa.sa_handler = [](int) {};
  ASSERT_EQ(::sigaction(SIGUSR1, &sa, &old), 0);
  mproc::Pool pool(opts(2));
  std::atomic<bool> stop{false};
  const pthread_t me = ::pthread_self();
  std::thread storm([&] {
    while (!stop.load()) {
      ::pthread_kill(me, SIGUSR1);
      std::this_thread::sleep_for(std::chrono::microseconds(200));  // the storm's rate
    }
  });
  auto out = pool.map(busy_square, std::views::iota(0, 1000));
  stop = true;
  storm.join();
  ::sigaction(SIGUSR1, &old, nullptr);
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(out[i], i * i);
}

// F3: the application reaps every child itself (a SIGCHLD handler calling waitpid(-1)):
// crashes are still seen and attributed, nothing hangs.
TEST_P(PoolReliability, F3_StolenExitStatuses) {
  struct sigaction sa {};
  struct sigaction old {};
  sa.sa_handler = [](int) {
    const int saved = errno;  // a handler must not change errno under the interrupted code
    while (::waitpid(-1, nullptr, WNOHANG) > 0) {
    }
    errno = saved;
  };
  ASSERT_EQ(::sigaction(SIGCHLD, &sa, &old), 0);
  {
    mproc::Pool pool(opts(2));
    auto rs = pool.try_map([](int x) { if (x == 5) crash_now(); return x; }, std::views::iota(0, 10));
    ASSERT_FALSE(rs[5].ok());
    try {
      std::rethrow_exception(rs[5].error());
    } catch (const mproc::WorkerCrashed& e) {
      EXPECT_EQ(e.index(), 5u);
      EXPECT_EQ(e.signal(), SIGSEGV);  // from waitid, or from the crash report if it was stolen
    }
    for (int i = 0; i < 10; ++i) {
      if (i != 5) {
        EXPECT_EQ(rs[i].value(), i);
      }
    }
  }
  ::sigaction(SIGCHLD, &old, nullptr);
}

// Unwinding past a pool with unfinished work terminates it instead of waiting forever.
TEST_P(PoolReliability, DestructorDuringUnwindingDoesNotWait) {
  State state;
  try {
    mproc::Pool pool(opts(1));
    auto f = pool.apply_async(long_sleep, At{state.name(), 0});
    while (state->running.load() < 1) std::this_thread::yield();
    throw std::runtime_error("the caller gives up");
  } catch (const std::runtime_error&) {
  }
}

TEST_P(PoolReliability, ImapReportsProgress) {
  std::size_t last = 0, calls = 0;
  auto options = opts(2);
  options.progress_callback = [&](const mproc::Progress& p) {
    ++calls;
    last = p.done;
    EXPECT_EQ(p.total, 50u);
  };
  mproc::Pool pool(options);
  int sum = 0;
  for (int v : pool.imap(square, std::views::iota(0, 50))) sum += v;
  EXPECT_EQ(sum, 40425);
  EXPECT_GE(calls, 1u);
  EXPECT_EQ(last, 50u);
}

MPROC_ALL_START_METHODS(PoolReliability);

}  // namespace
