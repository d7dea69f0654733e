// Process with StartMethod::spawn: the child is a fresh exec of this test binary (init() in the
// test main diverts it), so it shares nothing with the parent but what the task carries.
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

#include "mproc/pipe.hpp"
#include "mproc/process.hpp"
#include "mproc/start_method.hpp"

namespace {

using mproc::Process;
using mproc::ProcessOptions;
using mproc::StartMethod;
using namespace std::chrono_literals;

ProcessOptions spawned() { return ProcessOptions{.start_method = StartMethod::spawn}; }

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

TEST(ProcessSpawn, ExitCodeOfAFunctionPointerTask) {
  Process p(spawned(), exit_with, 7);
  p.start();
  p.join();
  EXPECT_EQ(p.exitcode(), 7);
}

TEST(ProcessSpawn, TheChildIsAFreshProgramNotACopy) {
  g_parent_marker = 42;  // a forked child would see 42
  Process p(spawned(), exit_with_marker);
  p.start();
  p.join();
  EXPECT_EQ(p.exitcode(), 0);
  g_parent_marker = 0;
}

TEST(ProcessSpawn, ArgumentsAreEncodedAndDecoded) {
  Process p(spawned(), exit_if_not, std::string("spawned"), std::vector<int>{1, 2, 3, 4}, 10);
  p.start();
  p.join();
  EXPECT_EQ(p.exitcode(), 0);
}

TEST(ProcessSpawn, CaptureLessLambdaAndTriviallyCopyableClosure) {
  Process a(spawned(), [] { std::exit(3); });
  const int code = 5;
  Process b(spawned(), [code] { std::exit(code); });
  a.start();
  b.start();
  a.join();
  b.join();
  EXPECT_EQ(a.exitcode(), 3);
  EXPECT_EQ(b.exitcode(), 5);
}

TEST(ProcessSpawn, AnUncaughtExceptionIsExitCode1) {
  Process p(spawned(), throw_runtime_error);
  p.start();
  p.join();
  EXPECT_EQ(p.exitcode(), 1);
}

TEST(ProcessSpawn, ASignalDeathIsMinusTheSignal) {
  Process p(spawned(), die_by, SIGSEGV);
  p.start();
  p.join();
  EXPECT_EQ(p.exitcode(), -SIGSEGV);
}

TEST(ProcessSpawn, KillAndIsAlive) {
  Process p(spawned(), [] { ::pause(); });
  p.start();
  EXPECT_TRUE(p.is_alive());
  p.kill();
  p.join();
  EXPECT_EQ(p.exitcode(), -SIGKILL);
}

TEST(ProcessSpawn, ATaskThatCannotCrossAnExecIsAnErrorAtStart) {
  std::string captured = "not trivially copyable";
  Process p(spawned(), [captured] { (void)captured.size(); });
  EXPECT_THROW(p.start(), mproc::Error);
  auto [a, b] = mproc::Pipe<int>();
  Process q(spawned(), [](mproc::Connection<int>) {}, std::move(a));  // a handle: not yet
  EXPECT_THROW(q.start(), mproc::Error);
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

// The reason spawn exists: threads that hold locks (here malloc's and a mutex) at the moment a
// child starts cannot deadlock it, because the child does not inherit their memory.
TEST(ProcessSpawn, ThreadsHoldingLocksInTheParentDoNotAffectTheChild) {
  std::atomic<bool> stop{false};
  std::mutex mu;
  std::vector<std::thread> busy;
  for (int t = 0; t < 8; ++t) {
    busy.emplace_back([&] {
      while (!stop.load()) {
        std::lock_guard g(mu);
        std::vector<char> v(1000 + static_cast<std::size_t>(t));
        v[0] = 1;
      }
    });
  }
  for (int i = 0; i < 20; ++i) {
    Process p(spawned(), exit_with, i);
    p.start();
    ASSERT_TRUE(p.join(30s));
    ASSERT_EQ(p.exitcode(), i);
  }
  stop = true;
  for (auto& t : busy) t.join();
}

}  // namespace
