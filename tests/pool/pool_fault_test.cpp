// Fault injection for issue 10 (RELIABILITY.md A7, C1, C3, C4, D1, D4, E3, J2), each case under
// every start method (PoolFault.<Case>/fork, /forkserver, /spawn):
//   J2  20,000 items over 4 workers while another thread SIGKILLs a random worker every few ms:
//       every item ends exactly once, as its value or as WorkerCrashed;
//   A7  a crash or a throw while the worker encodes a result, and a result the parent cannot
//       decode: each the item's own error, the pool usable after;
//   D1/D4 the program SIGKILLed mid-map: within a second no process it started is left (workers,
//       forkserver), and it had no named /dev/shm entry to leave behind (memfd only);
//   E3  SIGTERM or SIGINT to the program alone (not its group) mid-map: the same;
//   C4  RLIMIT_NPROC reached while a pool starts: a clear Error, no worker left, a smaller pool
//       works after;
//   C1  a full /dev/shm: a named segment fails with a clear Error; pools, which use memfds only,
//       are not affected;
//   C3  no fd left while a pool runs: a new pool fails with a clear Error, the running pool
//       goes on, and both work once fds are free again;
//   and a Queue whose writer, a Process under each start method, is SIGKILLed mid-put (at
//   random, so at times while it holds the queue's lock) stays usable (QueueKill).
// The program killed or signalled (D1, D4, E3, C4) is this binary run again (an App, see
// pool_params.hpp).
#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>
#include <ranges>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "mproc/mproc.hpp"
#include "pool_params.hpp"
#include "support/private_dev_shm.hpp"
#include "support/proc_fds.hpp"

namespace {

using mproc::test::App;
using mproc::test::At;
using mproc::test::StateName;

class PoolFault : public mproc::test::PoolParam {};

__attribute__((noinline, no_sanitize("undefined"))) void crash_now() {
  volatile int* volatile p = nullptr;
  *p = 1;
}

int square(int x) { return x * x; }

// ---------------------------------------------------------------------------------------------
// J2: random kills under load.

constexpr int kJ2Items = 20000;

struct Starts {
  std::atomic<int> of[kJ2Items];  // how many times each item started
};

int counted_work(At a) {
  mproc::test::attach_state<Starts>(a.state).of[a.x].fetch_add(1);
  const auto until = std::chrono::steady_clock::now() + std::chrono::microseconds(100);
  while (std::chrono::steady_clock::now() < until) {
  }
  return 3 * a.x + 1;
}

// How often the killer strikes: each kill costs a respawn, and an exec'd worker takes longer to
// come back than a forked one; the intervals keep every method making progress (each run well
// under 20 s on two cores).
std::chrono::milliseconds kill_interval(mproc::StartMethod m) {
  switch (m) {
    case mproc::StartMethod::fork:
      return std::chrono::milliseconds(2);
    case mproc::StartMethod::forkserver:
      return std::chrono::milliseconds(3);
    default:
      return std::chrono::milliseconds(5);
  }
}

TEST_P(PoolFault, J2_RandomKillsUnderLoadEndEveryItemExactlyOnce) {
  mproc::test::SharedState<Starts> starts;
  mproc::Pool pool(opts(4));
  std::atomic<bool> done{false};
  std::atomic<int> kills{0};
  std::thread killer([&] {
    std::mt19937 rng(12345);
    while (!done.load()) {  // only while the map has items left
      const auto pids = pool.worker_pids();
      if (!pids.empty() && ::kill(pids[rng() % pids.size()], SIGKILL) == 0) kills.fetch_add(1);
      std::this_thread::sleep_for(kill_interval(GetParam()));  // the kill rate: load, not a sync
    }
  });
  const auto t0 = std::chrono::steady_clock::now();
  auto rs = pool.try_map(counted_work, starts.at(std::views::iota(0, kJ2Items)));
  const auto elapsed = std::chrono::steady_clock::now() - t0;
  done = true;
  killer.join();

  ASSERT_EQ(rs.size(), static_cast<std::size_t>(kJ2Items));
  int values = 0, crashes = 0;
  for (int i = 0; i < kJ2Items; ++i) {
    const int started = starts->of[i].load();
    EXPECT_LE(started, 1) << "item " << i << " ran " << started << " times";
    if (rs[i].ok()) {
      ++values;
      EXPECT_EQ(rs[i].value(), 3 * i + 1) << "item " << i;
      EXPECT_EQ(started, 1) << "item " << i << " has a value but did not run once";
      continue;
    }
    try {
      std::rethrow_exception(rs[i].error());
    } catch (const mproc::WorkerCrashed& e) {
      ++crashes;
      EXPECT_EQ(e.index(), static_cast<std::size_t>(i));
      EXPECT_EQ(e.signal(), SIGKILL) << e.what();
    } catch (const std::exception& e) {
      ADD_FAILURE() << "item " << i << " ended as something else than WorkerCrashed: " << e.what();
    }
  }
  EXPECT_EQ(values + crashes, kJ2Items);
  EXPECT_GT(kills.load(), 0);
  EXPECT_LT(crashes, kJ2Items);
  std::printf("[ J2 %s ] %d items: %d values, %d WorkerCrashed, %d kills, %.1f s\n",
              std::string(mproc::to_string(GetParam())).c_str(), kJ2Items, values, crashes,
              kills.load(), std::chrono::duration<double>(elapsed).count());
  EXPECT_EQ(pool.map(square, std::vector<int>{1, 2, 3}), (std::vector<int>{1, 4, 9}));
}

// ---------------------------------------------------------------------------------------------
// A7: the result's own encoding or decoding fails.

// v == 1: the worker crashes while encoding it; v == 2: its encoding throws; v == 3: the parent
// cannot decode it.
struct Touchy {
  int v = 0;
  template <class Ar>
  void save(Ar& ar) const {
    if (v == 1) crash_now();
    if (v == 2) throw std::length_error("result 2 cannot be encoded");
    ar(v);
  }
  template <class Ar>
  void load(Ar& ar) {
    ar(v);
    if (v == 3) throw std::domain_error("result 3 cannot be decoded");
  }
};
Touchy make_touchy(int v) { return Touchy{v}; }

TEST_P(PoolFault, A7_ResultsThatFailToEncodeOrDecodeFailTheirItemOnly) {
  mproc::Pool pool(opts(2));
  auto rs = pool.try_map(make_touchy, std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7}, 1);
  ASSERT_EQ(rs.size(), 8u);
  for (int i : {0, 4, 5, 6, 7}) {
    ASSERT_TRUE(rs[i].ok()) << i;
    EXPECT_EQ(rs[i].value().v, i);
  }
  ASSERT_FALSE(rs[1].ok());
  try {
    std::rethrow_exception(rs[1].error());
  } catch (const mproc::WorkerCrashed& e) {
    EXPECT_EQ(e.index(), 1u);
    EXPECT_EQ(e.signal(), SIGSEGV);
  } catch (const std::exception& e) {
    ADD_FAILURE() << "crash while encoding: " << e.what();
  }
  ASSERT_FALSE(rs[2].ok());
  try {
    std::rethrow_exception(rs[2].error());
  } catch (const mproc::RemoteError& e) {
    EXPECT_EQ(e.index(), 2u);
    EXPECT_NE(e.remote_what().find("result 2 cannot be encoded"), std::string::npos) << e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "throw while encoding: " << e.what();
  }
  ASSERT_FALSE(rs[3].ok());
  try {
    std::rethrow_exception(rs[3].error());
  } catch (const mproc::Error& e) {
    std::printf("[ A7 %s ] undecodable result: %s\n",
                std::string(mproc::to_string(GetParam())).c_str(), e.what());
  } catch (const std::domain_error& e) {
    EXPECT_NE(std::string(e.what()).find("result 3 cannot be decoded"), std::string::npos);
  } catch (const std::exception& e) {
    ADD_FAILURE() << "undecodable result: " << e.what();
  }
  EXPECT_EQ(pool.apply(make_touchy, 9).v, 9);
  EXPECT_EQ(pool.map(square, std::views::iota(0, 100))[99], 99 * 99);
}

// ---------------------------------------------------------------------------------------------
// D1, D4, E3: the program dies or is signalled mid-map.

struct Running {
  std::atomic<int> n;
};

int block_in_map(At a) {
  mproc::test::attach_state<Running>(a.state).n.fetch_add(1);
  std::this_thread::sleep_for(std::chrono::hours(1));  // the workload: blocked until the end
  return 0;
}

// The app: a pool of 4 under the test's start method, with a Queue, a Lock and an anonymous
// SharedMemory alive, in a map whose items block. Reports its workers' pids.
TEST(PoolFaultApp, DISABLED_BlockedMap) {
  mproc::Queue<int> queue;
  queue.put(1);
  mproc::Lock lock;
  auto shm = mproc::SharedMemory::create(1 << 20);
  mproc::Pool pool(mproc::PoolOptions{.processes = 4, .start_method = App::start_method()});
  App::report_pids(pool.worker_pids());
  At item{};
  App::env("MPROC_POOL_APP_STATE").copy(item.state.text, sizeof item.state.text - 1);
  (void)pool.map(block_in_map, std::vector<At>(8, item), 1);
}

// Every process below `root` (children, their children, ...), from /proc.
std::vector<int> descendants_of(int root) {
  std::vector<std::pair<int, int>> procs;  // pid, parent
  if (DIR* d = ::opendir("/proc")) {
    while (dirent* e = ::readdir(d)) {
      const int pid = std::atoi(e->d_name);
      if (pid > 0) procs.emplace_back(pid, mproc::test::parent_pid_of(pid));
    }
    ::closedir(d);
  }
  std::vector<int> out;
  std::set<int> tree{root};
  for (bool grew = true; grew;) {
    grew = false;
    for (auto [pid, parent] : procs) {
      if (tree.count(parent) != 0 && tree.insert(pid).second) {
        out.push_back(pid);
        grew = true;
      }
    }
  }
  return out;
}

// Named /dev/shm objects process `pid` has mapped or open, except the test's own `allowed` one.
std::vector<std::string> dev_shm_in_use(int pid, const std::string& allowed) {
  std::vector<std::string> out;
  std::ifstream maps("/proc/" + std::to_string(pid) + "/maps");
  for (std::string line; std::getline(maps, line);) {
    const auto at = line.find("/dev/shm/");
    if (at != std::string::npos && line.find(allowed) == std::string::npos) {
      out.push_back(line.substr(at));
    }
  }
  const std::string fd_dir = "/proc/" + std::to_string(pid) + "/fd";
  if (DIR* d = ::opendir(fd_dir.c_str())) {
    while (dirent* e = ::readdir(d)) {
      if (e->d_name[0] == '.') continue;
      char target[512] = {};
      const auto n = ::readlink((fd_dir + "/" + e->d_name).c_str(), target, sizeof target - 1);
      const std::string t(target, n > 0 ? static_cast<std::size_t>(n) : 0);
      if (t.starts_with("/dev/shm/") && t.find(allowed) == std::string::npos) out.push_back(t);
    }
    ::closedir(d);
  }
  return out;
}

// Runs the app, waits until its 4 workers block in the map, checks it uses no named /dev/shm
// object, sends `sig` (to the app alone) and checks that within a second nothing it started is
// left. Returns the app's wait status.
int signal_app_mid_map(mproc::StartMethod method, int sig) {
  mproc::test::SharedState<Running> running;
  const std::string state_name = running.name().text + 1;  // without the leading '/'
  App app("PoolFaultApp.DISABLED_BlockedMap",
          {{"MPROC_POOL_APP_METHOD", std::string(mproc::to_string(method))},
           {"MPROC_POOL_APP_STATE", running.name().text}});
  const std::vector<int> workers = app.read_pids();
  EXPECT_EQ(workers.size(), 4u);
  if (workers.size() != 4) return -1;
  while (running->n.load() < 4) std::this_thread::yield();

  const auto tree = descendants_of(app.pid());
  for (int w : workers) {
    EXPECT_NE(std::find(tree.begin(), tree.end(), w), tree.end()) << "worker " << w;
  }
  if (method == mproc::StartMethod::forkserver) {
    // The workers' parent is the app's forkserver, one of its descendants too.
    const int server = mproc::test::parent_pid_of(workers[0]);
    EXPECT_NE(server, app.pid());
    EXPECT_NE(std::find(tree.begin(), tree.end(), server), tree.end());
  }
  // D4: nothing named: the pool's channels, the Queue, the Lock and the SharedMemory are memfds.
  std::vector<int> everyone = tree;
  everyone.push_back(app.pid());
  for (int p : everyone) {
    EXPECT_EQ(dev_shm_in_use(p, state_name), std::vector<std::string>{}) << "process " << p;
  }
  std::printf("[ %s %s ] %zu processes below the program\n", strsignal(sig),
              std::string(mproc::to_string(method)).c_str(), tree.size());
  std::vector<int> pidfds;
  for (int p : tree) pidfds.push_back(static_cast<int>(::syscall(SYS_pidfd_open, p, 0)));

  EXPECT_EQ(::kill(app.pid(), sig), 0);
  const int status = app.wait();
  for (std::size_t i = 0; i < tree.size(); ++i) {
    if (pidfds[i] < 0) continue;  // already gone and reaped
    pollfd pfd{pidfds[i], POLLIN, 0};
    EXPECT_EQ(::poll(&pfd, 1, 1000), 1) << "process " << tree[i] << " outlived the app by 1 s";
    ::close(pidfds[i]);
    ::waitpid(tree[i], nullptr, WNOHANG);  // we are the subreaper
  }
  EXPECT_EQ(mproc::test::entries_in("/dev/shm", "mproc-" + std::to_string(app.pid())), 0u);
  return status;
}

TEST_P(PoolFault, D1_D4_ProgramKilledMidMapLeavesNoProcessAndNoShmEntry) {
  const int status = signal_app_mid_map(GetParam(), SIGKILL);
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << status;
}

// mproc installs no signal handler in the program, so the signal ends it as it would any program;
// what it started goes with it.
TEST_P(PoolFault, E3_SigtermToTheProgramMidMapLeavesNothing) {
  const int status = signal_app_mid_map(GetParam(), SIGTERM);
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM) << status;
}

TEST_P(PoolFault, E3_SigintToTheProgramMidMapLeavesNothing) {
  const int status = signal_app_mid_map(GetParam(), SIGINT);
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGINT) << status;
}

// ---------------------------------------------------------------------------------------------
// C4: the process limit, under every start method.

constexpr rlim_t kNprocLimit = 24;

// The app of C4, run as an unprivileged user under RLIMIT_NPROC = kNprocLimit (set before exec, so its
// forkserver has it too): a pool of 64 cannot start; then a pool of 2 works. Reports 0 if all
// went as expected, else a step number.
// An app's outcome for its test: the step that failed (0: none) and the error it saw.
void report_outcome(int step, const std::string& what) {
  App::report(&step, sizeof step);
  const int len = static_cast<int>(what.size());
  App::report(&len, sizeof len);
  App::report(what.data(), what.size());
}

TEST(PoolFaultApp, DISABLED_ProcessLimit) {
  int step = 0;
  std::string what;
  const auto before = mproc::test::children();  // the forkserver
  try {
    mproc::Pool pool(mproc::PoolOptions{.processes = 64, .start_method = App::start_method()});
    (void)pool.map(square, std::views::iota(0, 64));
    step = 1;  // should not have started
  } catch (const mproc::Error& e) {
    what = e.what();
    if (what.find("Resource temporarily unavailable") == std::string::npos) step = 2;
  }
  if (step == 0 && mproc::test::children() != before) step = 3;  // no worker left behind
  if (step == 0) {
    try {
      mproc::Pool pool(mproc::PoolOptions{.processes = 2, .start_method = App::start_method()});
      if (pool.map(square, std::views::iota(0, 10))[9] != 81) step = 4;
    } catch (const std::exception& e) {
      what = e.what();
      step = 5;
    }
  }
  report_outcome(step, what);
}

TEST_P(PoolFault, C4_ProcessLimitFailsAPoolCleanlyAndASmallerOneWorksAfter) {
  // RLIMIT_NPROC counts every process of the user and does not bind root: the app runs as
  // an unprivileged user, with the limit set before exec (its test main starts the forkserver, which must be
  // bound too).
  if (::getuid() != 0) GTEST_SKIP() << "needs root, to run the app as an unprivileged user";
  char exe[4096];
  const auto len = ::readlink("/proc/self/exe", exe, sizeof exe - 1);
  ASSERT_GT(len, 0);
  exe[len] = '\0';
  int fds[2];
  ASSERT_EQ(::pipe2(fds, O_CLOEXEC), 0);
  std::string filter = "--gtest_filter=PoolFaultApp.DISABLED_ProcessLimit";
  std::string all = "--gtest_also_run_disabled_tests";
  char* argv[] = {exe, all.data(), filter.data(), nullptr};
  std::vector<std::string> vars{
      "MPROC_TEST_REPORT_FD=" + std::to_string(fds[1]),
      "MPROC_POOL_APP_METHOD=" + std::string(mproc::to_string(GetParam()))};
  std::vector<char*> envp;
  for (auto& v : vars) envp.push_back(v.data());
  for (char** e = environ; *e != nullptr; ++e) envp.push_back(*e);
  envp.push_back(nullptr);
  // RLIMIT_NPROC counts every process and thread of the user: each case gets a user of its own
  // (no passwd entry needed), or the cases ctest runs at the same time would share one budget.
  const unsigned uid = 60100 + static_cast<unsigned>(GetParam());
  const int pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    if (::setgid(uid) != 0 || ::setuid(uid) != 0) ::_exit(10);
    const rlimit lim{kNprocLimit, kNprocLimit};
    if (::setrlimit(RLIMIT_NPROC, &lim) != 0) ::_exit(11);
    ::fcntl(fds[1], F_SETFD, 0);
    ::execve(exe, argv, envp.data());
    ::_exit(12);
  }
  ::close(fds[1]);
  auto read_all = [&](void* out, std::size_t size) {
    auto* p = static_cast<char*>(out);
    while (size > 0) {
      const auto r = ::read(fds[0], p, size);
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) return false;
      p += r;
      size -= static_cast<std::size_t>(r);
    }
    return true;
  };
  int step = -1, n = 0;
  std::string what;
  if (read_all(&step, sizeof step) && read_all(&n, sizeof n) && n >= 0 && n < (1 << 20)) {
    what.resize(static_cast<std::size_t>(n));
    (void)read_all(what.data(), what.size());
  }
  ::close(fds[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  EXPECT_EQ(step, 0) << "error: " << what;
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  std::printf("[ C4 %s ] the pool of 64 failed with: %s\n",
              std::string(mproc::to_string(GetParam())).c_str(), what.c_str());
}

// ---------------------------------------------------------------------------------------------
// C1 for pools: the program's /dev/shm is full.

// The app: mounts a 64 KiB /dev/shm of its own, fills it, checks that a named segment then fails
// with ENOSPC, and runs a pool. Reports 0 if all went as expected, -1 if it could not mount (the
// reason follows), else a step number.
TEST(PoolFaultApp, DISABLED_FullDevShm) {
  int step = 0;
  std::string what = mproc::test::mount_private_dev_shm(64 << 10);
  if (!what.empty()) {
    step = -1;
  } else {
    try {
      auto filler = mproc::SharedMemory::create(60 << 10, "/mproc-c1-filler");
      filler.unlink();  // the name goes; the pages stay with the mapping
      try {
        (void)mproc::SharedMemory::create(1 << 20, "/mproc-c1-too-big");
        step = 1;
      } catch (const mproc::Error& e) {
        what = e.what();
        if (what.find("No space left on device") == std::string::npos) step = 2;
      }
      if (step == 0) {
        mproc::Pool pool(mproc::PoolOptions{.processes = 2, .start_method = App::start_method()});
        if (pool.map(square, std::views::iota(0, 1000))[999] != 999 * 999) step = 3;
        if (pool.apply(square, 7) != 49) step = 4;
      }
    } catch (const std::exception& e) {
      what = e.what();
      step = 5;
    }
  }
  report_outcome(step, what);
}

TEST_P(PoolFault, C1_AFullDevShmFailsNamedSegmentsClearlyAndPoolsWork) {
  App app("PoolFaultApp.DISABLED_FullDevShm",
          {{"MPROC_POOL_APP_METHOD", std::string(mproc::to_string(GetParam()))}});
  int step = -2, n = 0;
  std::string what;
  if (app.read_report(&step, sizeof step) && app.read_report(&n, sizeof n) && n >= 0 &&
      n < (1 << 20)) {
    what.resize(static_cast<std::size_t>(n));
    (void)app.read_report(what.data(), what.size());
  }
  const int status = app.wait();
  if (step == -1) GTEST_SKIP() << "no private /dev/shm: " << what;
  EXPECT_EQ(step, 0) << what;
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  std::printf("[ C1 %s ] the named segment failed with: %s\n",
              std::string(mproc::to_string(GetParam())).c_str(), what.c_str());
}

// ---------------------------------------------------------------------------------------------
// C3 with a pool running.

TEST_P(PoolFault, C3_NoFdLeftFailsANewPoolClearlyAndTheRunningOneGoesOn) {
#ifdef MPROC_UBSAN
  GTEST_SKIP() << "UBSan's vptr check probes memory through a pipe: with no fd free it reports "
                  "every object as invalid. The plain and TSan builds run this test.";
#endif
  mproc::Pool pool(opts(2));
  ASSERT_EQ(pool.map(square, std::views::iota(0, 100))[99], 99 * 99);
  rlimit old{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &old), 0);
  // New fds take the lowest free numbers, so the count is what matters.
  const int open_now = static_cast<int>(mproc::test::fd_count());
  rlimit none = old;
  none.rlim_cur = static_cast<rlim_t>(open_now);
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &none), 0);
  std::string what;
  try {
    mproc::Pool other(opts(2));
    what = "(no error)";
  } catch (const mproc::Error& e) {
    what = e.what();
  }
  // The running pool needs no new fd for its work.
  std::vector<int> out;
  std::string running_error;
  try {
    out = pool.map(square, std::views::iota(0, 1000));
  } catch (const std::exception& e) {
    running_error = e.what();
  }
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &old), 0);
  EXPECT_NE(what.find("Too many open files"), std::string::npos) << what;
  EXPECT_EQ(running_error, "");
  if (!out.empty()) {
    EXPECT_EQ(out[999], 999 * 999);
  }
  EXPECT_EQ(pool.map(square, std::views::iota(0, 10))[9], 81);
  mproc::Pool after(opts(2));
  EXPECT_EQ(after.map(square, std::views::iota(0, 10))[9], 81);
}

MPROC_ALL_START_METHODS(PoolFault);

// ---------------------------------------------------------------------------------------------
// A Queue's writer killed while it puts.

class QueueKill : public mproc::test::PoolParam {};

void put_forever(mproc::Queue<int> q) {
  for (int i = 0;; ++i) q.put(i);
}

TEST_P(QueueKill, AWriterKilledMidPutLeavesTheQueueUsable) {
  std::mt19937 rng(777);
  for (int round = 0; round < 20; ++round) {
    mproc::Queue<int> q;
    mproc::Process writer(mproc::ProcessOptions{.start_method = GetParam()}, put_forever, q);
    writer.start();
    // Take a random number of its items, so the kill lands at a random point of a put.
    const int take = 1 + static_cast<int>(rng() % 2000);
    for (int i = 0; i < take; ++i) {
      auto v = q.get(std::chrono::seconds(30));
      ASSERT_TRUE(v.has_value()) << "round " << round << ": the writer's items stopped";
      ASSERT_EQ(*v, i) << "round " << round;
    }
    writer.kill();
    writer.join();
    ASSERT_EQ(writer.exitcode(), -SIGKILL);
    // The queue is not wedged: a put and a get go through. What the writer left is its items in
    // order (a half-written one discarded), then ours.
    q.put(-1);
    for (int next = take;; ++next) {
      const auto v = q.get(std::chrono::seconds(10));
      ASSERT_TRUE(v.has_value()) << "round " << round << ": the queue is wedged";
      if (*v == -1) break;
      ASSERT_EQ(*v, next) << "round " << round;
    }
  }
}

MPROC_ALL_START_METHODS(QueueKill);

}  // namespace
