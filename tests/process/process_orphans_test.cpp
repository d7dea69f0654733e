// No child outlives its parent (RELIABILITY group D, rule 10). Each test forks an "app" process
// by hand; the app starts mproc children and then exits, crashes or is killed. The test binary
// is a subreaper, so the orphaned grandchildren come back to it: we watch each through a pidfd
// with a deadline and reap it.
#include <gtest/gtest.h>
#include <signal.h>
// glibc 2.36's <sys/pidfd.h> lacks extern "C" (fixed in 2.37).
extern "C" {
#include <sys/pidfd.h>
}
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <vector>

#include "mproc/process.hpp"
#include "support/child_guard.hpp"
#include "test_pipe.hpp"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

namespace {

using mproc::Process;
using mproc::ProcessOptions;
using mproc::test::ChildGuard;
using mproc::test::read_byte;
using mproc::test::readable_within;
using mproc::test::TestPipe;

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
  if (!readable_within(pidfd, 10'000)) return {};
  siginfo_t info{};
  if (::waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(pidfd), &info, WEXITED) != 0) {
    return {};
  }
  return {info.si_code, info.si_status};
}

void write_pid(int fd, int pid) { (void)!::write(fd, &pid, sizeof pid); }

TEST(ProcessOrphans, DaemonChildDiesWhenItsParentExits) {
  ChildGuard guard;
  TestPipe info, go;
  const int app = ::fork();
  ASSERT_GE(app, 0);
  if (app == 0) {
    Process d(ProcessOptions{.daemon = true}, [] { pause_forever(); });
    d.start();
    write_pid(info.w, d.pid());
    (void)read_byte(go.r);  // until the test holds a pidfd of the daemon
    ::_exit(0);             // the app exits; nothing destroys `d`
  }
  guard.adopt(app);
  info.close_write();
  const auto pids = read_pids(info.r, 1);
  ASSERT_EQ(pids.size(), 1u);
  const int pidfd = ::pidfd_open(pids[0], 0);
  ASSERT_GE(pidfd, 0);
  mproc::test::write_byte(go.w);
  const int status = guard.reap(app);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  const Ending end = wait_for_orphan(pidfd);
  ::close(pidfd);
  EXPECT_EQ(end.code, CLD_KILLED);
  EXPECT_EQ(end.status, SIGKILL);
}

TEST(ProcessOrphans, NoChildOutlivesAParentThatAborts) {
  ChildGuard guard;
  TestPipe info, go;
  const int app = ::fork();
  ASSERT_GE(app, 0);
  if (app == 0) {
    rlimit no_core{0, 0};
    ::setrlimit(RLIMIT_CORE, &no_core);
    Process worker([] { pause_forever(); });
    Process daemon(ProcessOptions{.daemon = true}, [] { pause_forever(); });
    worker.start();
    daemon.start();
    write_pid(info.w, worker.pid());
    write_pid(info.w, daemon.pid());
    (void)read_byte(go.r);
    std::abort();
  }
  guard.adopt(app);
  info.close_write();
  const auto pids = read_pids(info.r, 2);
  ASSERT_EQ(pids.size(), 2u);
  int pidfds[2] = {::pidfd_open(pids[0], 0), ::pidfd_open(pids[1], 0)};
  ASSERT_GE(pidfds[0], 0);
  ASSERT_GE(pidfds[1], 0);
  mproc::test::write_byte(go.w);
  const int status = guard.reap(app);
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT) << status;
  for (int fd : pidfds) {
    const Ending end = wait_for_orphan(fd);
    ::close(fd);
    EXPECT_EQ(end.code, CLD_KILLED);
    EXPECT_EQ(end.status, SIGKILL);
  }
}

// RELIABILITY D2: the parent dies immediately after start() returns. start() returns only once
// the child armed its death signal, so there is no window in which the child could survive.
TEST(ProcessOrphans, ChildOfAParentKilledRightAfterStartDies) {
  for (int i = 0; i < 50; ++i) {
    ChildGuard guard;
    TestPipe info;
    const int app = ::fork();
    ASSERT_GE(app, 0);
    if (app == 0) {
      Process p([] { pause_forever(); });
      p.start();
      write_pid(info.w, p.pid());
      ::raise(SIGKILL);
    }
    guard.adopt(app);
    info.close_write();
    const auto pids = read_pids(info.r, 1);
    ASSERT_EQ(pids.size(), 1u) << "iteration " << i;
    // The grandchild is ours now (subreaper) and not reaped yet, so its pid is still its own.
    const int pidfd = ::pidfd_open(pids[0], 0);
    ASSERT_GE(pidfd, 0) << "iteration " << i;
    (void)guard.reap(app);
    const Ending end = wait_for_orphan(pidfd);
    ::close(pidfd);
    ASSERT_EQ(end.code, CLD_KILLED) << "iteration " << i;
    ASSERT_EQ(end.status, SIGKILL) << "iteration " << i;
  }
}

}  // namespace
