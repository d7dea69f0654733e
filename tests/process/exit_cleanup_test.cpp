// RELIABILITY.md E1-E3: however a program ends — returning from main with a live Pool, Queue and
// Process, std::terminate, exit() from another thread, SIGTERM, SIGINT — no process of ours
// outlives it for more than 2 s (forkserver included) and its exit status is what it should be.
// Each case runs with the program's Pool and daemon Process under every start method
// (ExitCleanup.<Case>/fork, /forkserver, /spawn).
//
// The program is this binary run again on its DISABLED_ case (mproc::init first, as a real
// program); this process is a subreaper, so every orphan comes back here and is counted.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <string>
#include <thread>
#include <vector>

#include "mproc/pool.hpp"
#include "mproc/process.hpp"
#include "mproc/queue.hpp"
#include "mproc/shared_memory.hpp"
#include "mproc/start_method.hpp"
#include "support/leak_check.hpp"

namespace {

using namespace std::chrono_literals;
class ExitCleanup : public testing::TestWithParam<mproc::StartMethod> {};
using Clock = std::chrono::steady_clock;

int plus_one(int x) { return x + 1; }

// The start method the program's Pool and daemon use (MPROC_EXIT_METHOD).
mproc::StartMethod program_method() {
  const char* m = std::getenv("MPROC_EXIT_METHOD");
  for (auto s :
       {mproc::StartMethod::fork, mproc::StartMethod::forkserver, mproc::StartMethod::spawn}) {
    if (m != nullptr && mproc::to_string(s) == m) return s;
  }
  return mproc::get_start_method();
}

// The program: a Pool(2) with work done, a Queue holding items, a daemon Process, a forkserver
// Process and an anonymous segment; reports "ready" on the fd, then ends as `how` says.
TEST(ExitCleanup, DISABLED_Program) {
  const char* how = std::getenv("MPROC_EXIT_HOW");
  const char* fd = std::getenv("MPROC_TEST_REPORT_FD");
  ASSERT_NE(how, nullptr);
  ASSERT_NE(fd, nullptr);
  const auto method = program_method();
  // E1: left to the end of the program
  static mproc::Pool* pool =
      new mproc::Pool(mproc::PoolOptions{.processes = 2, .start_method = method});
  ASSERT_EQ(pool->map(plus_one, std::vector<int>{1, 2, 3}), (std::vector<int>{2, 3, 4}));
  mproc::Queue<std::string> q;
  q.put("left in the queue");
  mproc::Process daemon(mproc::ProcessOptions{.daemon = true, .start_method = method},
                        [] { ::pause(); });
  daemon.start();
  mproc::Process served(mproc::ProcessOptions{.daemon = true,
                                              .start_method = mproc::StartMethod::forkserver},
                        [] { ::pause(); });
  served.start();
  auto shm = mproc::SharedMemory::create(1 << 20);
  shm.data()[0] = std::byte{1};
  ASSERT_EQ(::write(std::atoi(fd), "R", 1), 1);
  const std::string h = how;
  if (h == "return") {
    delete pool;  // what ~Pool does at the end of main
    return;       // E1: the test's exit: destructors, then return from main
  }
  if (h == "terminate") std::terminate();  // E2
  if (h == "exit_from_thread") {
    std::thread([] { std::exit(3); }).join();  // E2: exit() from a thread that is not main
  }
  ::pause();  // E3: the test sends a signal
}

// Runs the program; `signal` (0: none) is sent once it is ready. Returns its wait status, and
// fails the test if any process of ours is still alive 2 s after it ended.
int run_program(const char* how, int sig, mproc::StartMethod method) {
  const std::string method_name(mproc::to_string(method));
  int fds[2];
  if (::pipe2(fds, 0) != 0) return -1;
  char exe[4096];
  const ssize_t n = ::readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n <= 0) return -1;
  exe[n] = '\0';
  const int pid = ::fork();
  if (pid == 0) {
    ::close(fds[0]);
    ::setenv("MPROC_EXIT_HOW", how, 1);
    ::setenv("MPROC_EXIT_METHOD", method_name.c_str(), 1);
    ::setenv("MPROC_TEST_REPORT_FD", std::to_string(fds[1]).c_str(), 1);
    ::execl(exe, exe, "--gtest_also_run_disabled_tests",
            "--gtest_filter=ExitCleanup.DISABLED_Program", nullptr);
    std::_Exit(99);
  }
  ::close(fds[1]);
  char c = 0;
  const bool ready = ::read(fds[0], &c, 1) == 1;
  ::close(fds[0]);
  EXPECT_TRUE(ready) << how << ": the program did not get ready";
  if (sig != 0) ::kill(pid, sig);
  int status = 0;
  ::waitpid(pid, &status, 0);
  // Orphans (pool workers, the forkserver, its child, the daemon) come back here: give them 2 s.
  const auto end = Clock::now() + 2s;
  std::vector<int> left;
  for (;;) {
    while (::waitpid(-1, nullptr, WNOHANG) > 0) {
    }
    left = mproc::test::children();
    if (left.empty() || Clock::now() >= end) break;
    std::this_thread::sleep_for(5ms);  // polling a condition with a deadline
  }
  EXPECT_TRUE(left.empty()) << how << ": " << left.size() << " process(es) outlived the program";
  return status;
}

TEST_P(ExitCleanup, E1_ReturnFromMainWithLivePoolQueueAndProcesses) {
  const int status = run_program("return", 0, GetParam());
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

TEST_P(ExitCleanup, E2_StdTerminate) {
  const int status = run_program("terminate", 0, GetParam());
  ASSERT_TRUE(WIFSIGNALED(status));
  EXPECT_EQ(WTERMSIG(status), SIGABRT);
}

TEST_P(ExitCleanup, E2_ExitFromAnotherThread) {
  const int status = run_program("exit_from_thread", 0, GetParam());
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 3);
}

// E3: mproc installs no signal handler in the program (a library must not), so SIGTERM and SIGINT
// end it by their default action; what mproc guarantees is that nothing of it survives.
TEST_P(ExitCleanup, E3_Sigterm) {
  const int status = run_program("signal", SIGTERM, GetParam());
  ASSERT_TRUE(WIFSIGNALED(status));
  EXPECT_EQ(WTERMSIG(status), SIGTERM);
}

TEST_P(ExitCleanup, E3_Sigint) {
  const int status = run_program("signal", SIGINT, GetParam());
  ASSERT_TRUE(WIFSIGNALED(status));
  EXPECT_EQ(WTERMSIG(status), SIGINT);
}

INSTANTIATE_TEST_SUITE_P(StartMethods, ExitCleanup,
                         testing::Values(mproc::StartMethod::fork, mproc::StartMethod::forkserver,
                                         mproc::StartMethod::spawn),
                         [](const testing::TestParamInfo<mproc::StartMethod>& info) {
                           return std::string(mproc::to_string(info.param));
                         });

}  // namespace
