// No child outlives its parent (RELIABILITY group D, rule 10), under each start method. Each test
// starts an "app" process by hand; the app starts mproc children and then exits, crashes or is
// killed. Under fork and spawn the app is a forked copy of this process; under forkserver, which
// a copy may not use, it is this binary run again (ProcessOrphansApp.DISABLED_Run), whose init()
// starts its own server, and the server must end with the app too. The test binary is a
// subreaper, so the orphaned grandchildren come back to it: we watch each through a pidfd with
// a deadline and reap it.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
// glibc 2.36's <sys/pidfd.h> lacks extern "C" (fixed in 2.37).
extern "C" {
#include <sys/pidfd.h>
}
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "mproc/process.hpp"
#include "mproc/start_method.hpp"
#include "support/child_guard.hpp"
#include "test_pipe.hpp"
#include "support/proc_fds.hpp"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

extern char** environ;

namespace {

using mproc::Process;
using mproc::ProcessOptions;
using mproc::StartMethod;
using mproc::test::ChildGuard;
using mproc::test::read_byte;
using mproc::test::readable_within;
using mproc::test::TestPipe;
using namespace std::chrono_literals;

[[noreturn]] void pause_forever() {
  for (;;) ::pause();
}

// Reads `n` pids the app reports; empty if it died first.
std::vector<int> read_pids(int fd, std::size_t n) {
  std::vector<int> pids(n);
  std::size_t want = n * sizeof(int), got = 0;
  auto* p = reinterpret_cast<char*>(pids.data());
  while (got < want && readable_within(fd, 10'000)) {
    ssize_t r = ::read(fd, p + got, want - got);
    if (r <= 0) break;
    got += static_cast<std::size_t>(r);
  }
  if (got != want) pids.clear();
  return pids;
}

// How an orphaned grandchild ended: waits on a pidfd (deadline 10 s), then reaps it.
// Returns the si_code/si_status pair, or {-1, -1} if it was still alive at the deadline.
struct Ending {
  int code = -1;
  int status = -1;
};
Ending wait_for_orphan(int pidfd) {
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  if (!readable_within(pidfd, 10'000)) return {};
  siginfo_t info{};
  // ECHILD: it has ended but is not ours yet. Its parent may still be exiting: a parent with
  // several threads (ThreadSanitizer's runtime runs one) hands its children to another of its
  // threads first, and to us (the subreaper) only when its last thread is gone.
  while (::waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(pidfd), &info, WEXITED) != 0) {
    if (errno != ECHILD || std::chrono::steady_clock::now() > deadline) return {};
    std::this_thread::sleep_for(1ms);  // polling a condition, not guessing a delay
  }
  return {info.si_code, info.si_status};
}

void write_pid(int fd, int pid) { (void)!::write(fd, &pid, sizeof pid); }

// What the app does. It reports its children's pids on `info` (then, under forkserver, its
// server's), and ends as the scenario says.
enum class Scenario : int {
  daemon_then_exit = 1,          // a daemon child; _exit(0) on "go", nothing destroys the Process
  worker_and_daemon_then_abort,  // a worker and a daemon; abort() on "go"
  killed_right_after_start,      // a worker; SIGKILL to itself as soon as start() returned
};

[[noreturn]] void run_app(Scenario s, StartMethod m, int info, int go) {
  const auto report = [&](std::initializer_list<int> pids) {
    for (int pid : pids) write_pid(info, pid);
    if (m == StartMethod::forkserver) write_pid(info, mproc::test::parent_pid_of(*pids.begin()));
  };
  switch (s) {
    case Scenario::daemon_then_exit: {
      Process d(ProcessOptions{.daemon = true, .start_method = m}, [] { pause_forever(); });
      d.start();
      report({d.pid()});
      (void)read_byte(go);  // until the test holds a pidfd of the daemon
      ::_exit(0);           // the app exits; nothing destroys `d`
    }
    case Scenario::worker_and_daemon_then_abort: {
      rlimit no_core{0, 0};
      ::setrlimit(RLIMIT_CORE, &no_core);
      Process worker(ProcessOptions{.start_method = m}, [] { pause_forever(); });
      Process daemon(ProcessOptions{.daemon = true, .start_method = m}, [] { pause_forever(); });
      worker.start();
      daemon.start();
      report({worker.pid(), daemon.pid()});
      (void)read_byte(go);
      std::abort();
    }
    case Scenario::killed_right_after_start: {
      Process p(ProcessOptions{.start_method = m}, [] { pause_forever(); });
      p.start();
      report({p.pid()});
      ::raise(SIGKILL);
    }
  }
  ::_exit(127);
}

constexpr const char* kAppEnv = "MPROC_TEST_ORPHANS_APP";

// Starts the app (see the top of the file); the caller adopts the pid.
int start_app(Scenario s, StartMethod m, const TestPipe& info, const TestPipe& go) {
  if (m != StartMethod::forkserver) {
    const int pid = ::fork();
    if (pid == 0) run_app(s, m, info.w, go.r);
    return pid;
  }
  // Everything the exec needs is made before the fork.
  char exe[4096];
  const ssize_t n = ::readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n <= 0) return -1;
  exe[n] = '\0';
  std::string filter = "--gtest_filter=ProcessOrphansApp.DISABLED_Run";
  std::string also = "--gtest_also_run_disabled_tests";
  std::vector<char*> argv{exe, also.data(), filter.data(), nullptr};
  std::string spec = std::string(kAppEnv) + "=" + std::to_string(static_cast<int>(s)) + " " +
                     std::to_string(static_cast<int>(m)) + " " + std::to_string(info.w) + " " +
                     std::to_string(go.r);
  std::vector<char*> envp;
  for (char** e = environ; *e != nullptr; ++e) envp.push_back(*e);
  envp.push_back(spec.data());
  envp.push_back(nullptr);
  const int pid = ::fork();
  if (pid == 0) {
    ::fcntl(info.w, F_SETFD, 0);  // inherited by the app
    ::fcntl(go.r, F_SETFD, 0);
    const int null = ::open("/dev/null", O_WRONLY);
    ::dup2(null, 1);  // not GoogleTest's chatter in our output
    ::execve(exe, argv.data(), envp.data());
    ::_exit(127);
  }
  return pid;
}

// The app's end of a forkserver run: this binary run again, the scenario taken from the
// environment. Never returns.
TEST(ProcessOrphansApp, DISABLED_Run) {
  const char* spec = std::getenv(kAppEnv);
  ASSERT_NE(spec, nullptr) << "run only by ProcessOrphans tests";
  int s = 0, m = 0, info = -1, go = -1;
  ASSERT_EQ(std::sscanf(spec, "%d %d %d %d", &s, &m, &info, &go), 4);
  run_app(static_cast<Scenario>(s), static_cast<StartMethod>(m), info, go);
}

class ProcessOrphans : public testing::TestWithParam<StartMethod> {
 protected:
  // Pids the app reports for `children` children: the children, then under forkserver its
  // server.
  [[nodiscard]] std::size_t pids_for(std::size_t children) const {
    return children + (GetParam() == StartMethod::forkserver ? 1 : 0);
  }
  // Every child reported was killed by SIGKILL; the server (last, under forkserver) ended.
  void expect_all_ended(const std::vector<int>& pidfds, std::size_t children) const {
    for (std::size_t i = 0; i < pidfds.size(); ++i) {
      const Ending end = wait_for_orphan(pidfds[i]);
      ::close(pidfds[i]);
      if (i < children) {
        EXPECT_EQ(end.code, CLD_KILLED) << "child " << i;
        EXPECT_EQ(end.status, SIGKILL) << "child " << i;
      } else {
        EXPECT_NE(end.code, -1) << "the forkserver outlived its program";
      }
    }
  }
};

std::vector<int> open_pidfds(const std::vector<int>& pids) {
  std::vector<int> fds;
  for (int pid : pids) fds.push_back(::pidfd_open(pid, 0));
  return fds;
}

bool all_valid(const std::vector<int>& fds) {
  for (int fd : fds) {
    if (fd < 0) return false;
  }
  return true;
}

TEST_P(ProcessOrphans, DaemonChildDiesWhenItsParentExits) {
  ChildGuard guard;
  TestPipe info, go;
  const int app = start_app(Scenario::daemon_then_exit, GetParam(), info, go);
  ASSERT_GE(app, 0);
  guard.adopt(app);
  info.close_write();
  const auto pids = read_pids(info.r, pids_for(1));
  ASSERT_EQ(pids.size(), pids_for(1));
  const auto pidfds = open_pidfds(pids);
  ASSERT_TRUE(all_valid(pidfds));
  mproc::test::write_byte(go.w);
  const int status = guard.reap(app);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  expect_all_ended(pidfds, 1);
}

TEST_P(ProcessOrphans, NoChildOutlivesAParentThatAborts) {
  ChildGuard guard;
  TestPipe info, go;
  const int app = start_app(Scenario::worker_and_daemon_then_abort, GetParam(), info, go);
  ASSERT_GE(app, 0);
  guard.adopt(app);
  info.close_write();
  const auto pids = read_pids(info.r, pids_for(2));
  ASSERT_EQ(pids.size(), pids_for(2));
  const auto pidfds = open_pidfds(pids);
  ASSERT_TRUE(all_valid(pidfds));
  mproc::test::write_byte(go.w);
  const int status = guard.reap(app);
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT) << status;
  expect_all_ended(pidfds, 2);
}

// RELIABILITY D2: the parent dies immediately after start() returns. start() returns only once
// the child armed its death signal, so there is no window in which the child could survive.
TEST_P(ProcessOrphans, ChildOfAParentKilledRightAfterStartDies) {
  for (int i = 0; i < 50; ++i) {
    ChildGuard guard;
    TestPipe info, go;
    const int app = start_app(Scenario::killed_right_after_start, GetParam(), info, go);
    ASSERT_GE(app, 0);
    guard.adopt(app);
    info.close_write();
    const auto pids = read_pids(info.r, pids_for(1));
    ASSERT_EQ(pids.size(), pids_for(1)) << "round " << i;
    // The grandchildren are ours now (subreaper) and not reaped yet, so the pids are still theirs.
    const auto pidfds = open_pidfds(pids);
    ASSERT_TRUE(all_valid(pidfds)) << "round " << i;
    (void)guard.reap(app);
    expect_all_ended(pidfds, 1);
    if (HasFailure()) FAIL() << "round " << i;
  }
}

INSTANTIATE_TEST_SUITE_P(StartMethods, ProcessOrphans,
                         testing::Values(StartMethod::fork, StartMethod::forkserver,
                                         StartMethod::spawn),
                         [](const testing::TestParamInfo<StartMethod>& info) {
                           return std::string(mproc::to_string(info.param));
                         });

}  // namespace
