// Process with StartMethod::spawn and StartMethod::forkserver: the child is a fresh exec of this
// test binary (init() in the test main diverts it), or a fork of the server init() started while
// the binary had one thread; either way it shares nothing with the parent but what the task
// carries. Each case runs under both (ProcessExec/...), then the spawn-only ones.
#include <gtest/gtest.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "mproc/event.hpp"
#include "mproc/lock.hpp"
#include "mproc/pipe.hpp"
#include "mproc/process.hpp"
#include "mproc/queue.hpp"
#include "mproc/shared_memory.hpp"
#include "mproc/value.hpp"
#include "mproc/start_method.hpp"
#include "support/proc_fds.hpp"

namespace {

using mproc::Process;
using mproc::ProcessOptions;
using mproc::StartMethod;
using namespace std::chrono_literals;

ProcessOptions spawned() { return ProcessOptions{.start_method = StartMethod::spawn}; }

class ProcessExec : public testing::TestWithParam<StartMethod> {
 protected:
  [[nodiscard]] ProcessOptions opts() const { return ProcessOptions{.start_method = GetParam()}; }
};

// What the parent changes before starting; a spawned child must not see it.
int g_parent_marker = 0;

void exit_with(int code) { std::exit(code); }
void exit_with_marker() { std::exit(g_parent_marker); }
void throw_runtime_error() { throw std::runtime_error("boom in a spawned child"); }
void die_by(int sig) { ::raise(sig); }
void exit_if_not(std::string s, std::vector<int> v, int expect_sum) {
  int sum = 0;
  for (int x : v) sum += x;
  std::exit(s == "spawned" && sum == expect_sum ? 0 : 9);
}

TEST(ProcessSpawn, TheTestBinaryIsInitialized) { EXPECT_TRUE(mproc::initialized()); }

TEST_P(ProcessExec, ExitCodeOfAFunctionPointerTask) {
  Process p(opts(), exit_with, 7);
  p.start();
  p.join();
  EXPECT_EQ(p.exitcode(), 7);
}

TEST_P(ProcessExec, TheChildIsAFreshProgramNotACopy) {
  g_parent_marker = 42;  // a forked child would see 42
  Process p(opts(), exit_with_marker);
  p.start();
  p.join();
  EXPECT_EQ(p.exitcode(), 0);
  g_parent_marker = 0;
}

TEST_P(ProcessExec, ArgumentsAreEncodedAndDecoded) {
  Process p(opts(), exit_if_not, std::string("spawned"), std::vector<int>{1, 2, 3, 4}, 10);
  p.start();
  p.join();
  EXPECT_EQ(p.exitcode(), 0);
}

TEST_P(ProcessExec, CaptureLessLambdaAndTriviallyCopyableClosure) {
  Process a(opts(), [] { std::exit(3); });
  const int code = 5;
  Process b(opts(), [code] { std::exit(code); });
  a.start();
  b.start();
  a.join();
  b.join();
  EXPECT_EQ(a.exitcode(), 3);
  EXPECT_EQ(b.exitcode(), 5);
}

TEST_P(ProcessExec, AnUncaughtExceptionIsExitCode1) {
  Process p(opts(), throw_runtime_error);
  p.start();
  p.join();
  EXPECT_EQ(p.exitcode(), 1);
}

TEST_P(ProcessExec, ASignalDeathIsMinusTheSignal) {
  Process p(opts(), die_by, SIGSEGV);
  p.start();
  p.join();
  EXPECT_EQ(p.exitcode(), -SIGSEGV);
}

TEST_P(ProcessExec, KillAndIsAlive) {
  Process p(opts(), [] { ::pause(); });
  p.start();
  EXPECT_TRUE(p.is_alive());
  p.kill();
  p.join();
  EXPECT_EQ(p.exitcode(), -SIGKILL);
}

TEST_P(ProcessExec, ATaskThatCannotCrossAnExecIsAnErrorAtStart) {
  std::string captured = "not trivially copyable";
  Process p(opts(), [captured] { (void)captured.size(); });
  EXPECT_THROW(p.start(), mproc::Error);

}

// Handles as arguments: the child gets the same queue, lock, event, pipe end and memory (their
// fds travel with the start message), not copies.
void echo_through(mproc::Queue<std::string> in, mproc::JoinableQueue<std::string> out) {
  for (std::string s = in.get(); s != "STOP"; s = in.get()) out.put(s + "!");
}
void take_and_die(mproc::Lock lock, mproc::Event taken) {
  lock.acquire();
  taken.set();
  ::raise(SIGKILL);
}
void write_through(mproc::Connection<int> conn, mproc::Value<int> v, mproc::SharedMemory shm) {
  v.store(conn.recv() + 1);
  shm.data()[0] = std::byte{42};
  conn.send(v.load());
}

TEST_P(ProcessExec, QueuesReachTheChildAsTheSameQueues) {
  mproc::Queue<std::string> in;
  mproc::JoinableQueue<std::string> out;
  Process p(opts(), echo_through, in, out);
  p.start();
  in.put("a");
  in.put("b");
  in.put("STOP");
  EXPECT_EQ(out.get(10s), "a!");
  EXPECT_EQ(out.get(10s), "b!");
  out.task_done();
  out.task_done();
  EXPECT_TRUE(out.join(0s));
  p.join();
  EXPECT_EQ(p.exitcode(), 0);
}

TEST_P(ProcessExec, ALockTheChildDiedHoldingIsOwnerDiedHere) {
  mproc::Lock lock;
  mproc::Event taken;
  Process p(opts(), take_and_die, lock, taken);
  p.start();
  ASSERT_TRUE(taken.wait(10s));
  p.join();
  EXPECT_EQ(p.exitcode(), -SIGKILL);
  EXPECT_THROW(lock.acquire(), mproc::OwnerDied);
  lock.release();
}

TEST_P(ProcessExec, PipeEndsValuesAndSharedMemoryReachTheChild) {
  auto [mine, theirs] = mproc::Pipe<int>();
  mproc::Value<int> v(0);
  auto shm = mproc::SharedMemory::create(4096);
  Process p(opts(), write_through, std::move(theirs), v, shm);
  p.start();
  mine.send(41);
  EXPECT_EQ(mine.recv(), 42);
  p.join();
  EXPECT_EQ(p.exitcode(), 0);
  EXPECT_EQ(v.load(), 42);
  EXPECT_EQ(shm.data()[0], std::byte{42});
}

TEST(ProcessSpawn, InitTwiceIsAnError) {
  char arg0[] = "x";
  char* argv[] = {arg0, nullptr};
  EXPECT_THROW(mproc::init(1, argv), mproc::Error);
}

TEST(ProcessSpawn, SetStartMethodMakesSpawnTheDefault) {
  mproc::set_start_method(StartMethod::spawn);
  g_parent_marker = 11;
  Process p(exit_with_marker);
  mproc::set_start_method(StartMethod::fork);
  p.start();
  p.join();
  g_parent_marker = 0;
  EXPECT_EQ(p.exitcode(), 0);  // spawned: the marker was not inherited
}

TEST(ProcessSpawn, SpawnsAfterTheProgramChangedItsDirectory) {
  char here[4096];
  ASSERT_NE(::getcwd(here, sizeof here), nullptr);
  ASSERT_EQ(::chdir("/"), 0);  // a relative argv[0] no longer names the program
  Process p(spawned(), exit_with, 4);
  p.start();
  ASSERT_EQ(::chdir(here), 0);
  p.join();
  EXPECT_EQ(p.exitcode(), 4);
}

// The spawned child is /proc/self/exe, not argv[0]: a program started through a symlink from
// another directory, that then changed its directory, still finds itself. Runs that test in a copy
// of this binary started so.
TEST(ProcessSpawn, WorksWhenTheProgramWasStartedThroughARelativeSymlink) {
  char dir_template[] = "/tmp/mproc-spawn-XXXXXX";
  ASSERT_NE(::mkdtemp(dir_template), nullptr);
  const std::string dir = dir_template;
  char exe[4096];
  const ssize_t n = ::readlink("/proc/self/exe", exe, sizeof exe - 1);
  ASSERT_GT(n, 0);
  exe[n] = '\0';
  ASSERT_EQ(::symlink(exe, (dir + "/link").c_str()), 0);
  const std::string cmd = "cd " + dir + " && ./link --gtest_filter=ProcessSpawn.SpawnsAfterTheProgramChangedItsDirectory"
                          " >/dev/null 2>&1";
  const int status = std::system(cmd.c_str());
  ::unlink((dir + "/link").c_str());
  ::rmdir(dir.c_str());
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

// A spawned child armed PR_SET_PDEATHSIG before start() returned: when its parent dies, so does
// it (this test process is a subreaper, so the orphan comes back here to be reaped).
TEST(ProcessSpawn, AChildDiesWithItsParent) {
  int fds[2];
  ASSERT_EQ(::pipe2(fds, O_CLOEXEC), 0);
  Process middle(ProcessOptions{.daemon = true}, [w = fds[1]] {
    Process child(spawned(), [] { ::pause(); });
    child.start();
    const int pid = child.pid();
    (void)!::write(w, &pid, sizeof pid);
    ::pause();
  });
  middle.start();
  ::close(fds[1]);
  int grandchild = 0;
  ASSERT_EQ(::read(fds[0], &grandchild, sizeof grandchild), static_cast<ssize_t>(sizeof grandchild));
  ::close(fds[0]);
  middle.kill();
  middle.join();
  int status = 0;
  ASSERT_EQ(::waitpid(grandchild, &status, 0), grandchild);  // a hang: the watchdog fails it
  EXPECT_TRUE(WIFSIGNALED(status));
  EXPECT_EQ(WTERMSIG(status), SIGKILL);
}

// The forkserver and its children end with the program, even one killed by SIGKILL. The program
// here is this binary run again (its DISABLED_ case below, which starts a forkserver child and
// reports the pids); this process is a subreaper, so the orphans come back here to be reaped.
TEST(ProcessForkserver, TheServerAndItsChildrenDieWithTheProgram) {
  int fds[2];
  ASSERT_EQ(::pipe2(fds, 0), 0);  // inherited by the program run below
  char exe[4096];
  const ssize_t n = ::readlink("/proc/self/exe", exe, sizeof exe - 1);
  ASSERT_GT(n, 0);
  exe[n] = '\0';
  Process program(ProcessOptions{.daemon = true}, [&] {
    ::setenv("MPROC_TEST_REPORT_FD", std::to_string(fds[1]).c_str(), 1);
    ::execl(exe, exe, "--gtest_also_run_disabled_tests",
            "--gtest_filter=ProcessForkserver.DISABLED_StartAChildReportAndWait", nullptr);
    std::_Exit(99);
  });
  program.start();
  ::close(fds[1]);
  int pids[2] = {0, 0};  // the server, its child
  ASSERT_EQ(::read(fds[0], pids, sizeof pids), static_cast<ssize_t>(sizeof pids));
  ::close(fds[0]);
  program.kill();
  program.join();
  // Each is reaped here once it ended; a survivor would hang this (the watchdog names it). The
  // server ends either way (end of file on its socket, or its death signal); the child is killed.
  int status = 0;
  ASSERT_EQ(::waitpid(pids[0], &status, 0), pids[0]);
  ASSERT_EQ(::waitpid(pids[1], &status, 0), pids[1]);
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
}

TEST(ProcessForkserver, DISABLED_StartAChildReportAndWait) {
  const char* fd = std::getenv("MPROC_TEST_REPORT_FD");
  ASSERT_NE(fd, nullptr);
  Process child(ProcessOptions{.start_method = StartMethod::forkserver}, [] { ::pause(); });
  child.start();
  const int pids[2] = {mproc::test::parent_pid_of(child.pid()), child.pid()};
  ASSERT_EQ(::write(std::atoi(fd), pids, sizeof pids), static_cast<ssize_t>(sizeof pids));
  ::pause();  // until the test kills this program
}

// The reason spawn exists: threads that hold locks (here malloc's and a mutex) at the moment a
// child starts cannot deadlock it, because the child does not inherit their memory.
TEST_P(ProcessExec, ThreadsHoldingLocksInTheParentDoNotAffectTheChild) {
  std::atomic<bool> stop{false};
  std::mutex mu;
  std::vector<std::thread> busy;
  for (int t = 0; t < 8; ++t) {
    busy.emplace_back([&, t] {
      while (!stop.load()) {
        std::lock_guard g(mu);
        std::vector<char> v(1000 + static_cast<std::size_t>(t));
        v[0] = 1;
      }
    });
  }
  for (int i = 0; i < 20; ++i) {
    Process p(opts(), exit_with, i);
    p.start();
    ASSERT_TRUE(p.join(30s));
    ASSERT_EQ(p.exitcode(), i);
  }
  stop = true;
  for (auto& t : busy) t.join();
}

INSTANTIATE_TEST_SUITE_P(StartMethods, ProcessExec,
                         testing::Values(StartMethod::spawn, StartMethod::forkserver),
                         [](const testing::TestParamInfo<StartMethod>& info) {
                           return std::string(mproc::to_string(info.param));
                         });

}  // namespace
