#include "mproc/process.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <memory>
#include <numeric>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "mproc/error.hpp"
#include "test_pipe.hpp"

namespace {

using mproc::Process;
using mproc::ProcessOptions;
using mproc::StartMethod;
using mproc::test::read_all;
using mproc::test::read_byte;
using mproc::test::readable_within;
using mproc::test::TestPipe;
using mproc::test::write_byte;
using mproc::test::write_str;
using namespace std::chrono_literals;

[[noreturn]] void pause_forever() {
  for (;;) ::pause();
}

// A child that says "ready" on `ready_fd`, then waits to be signalled.
auto ready_then_pause(int ready_fd) {
  return [ready_fd] {
    write_byte(ready_fd);
    pause_forever();
  };
}

void write_number(int fd, int n) { write_str(fd, std::to_string(n)); }

namespace test_ns {
struct ParseError : std::runtime_error {
  using std::runtime_error::runtime_error;
};
}  // namespace test_ns

template <class F>
std::string error_message(F&& f) {
  try {
    f();
  } catch (const mproc::Error& e) {
    return e.what();
  }
  return "<no mproc::Error thrown>";
}

// --- exit codes ---------------------------------------------------------------------------

TEST(Process, ExitCodeIsZeroAfterNormalReturn) {
  Process p([] {});
  p.start();
  p.join();
  EXPECT_EQ(p.exitcode(), 0);
}

TEST(Process, ExitCodeComesFromStdExitInTheChild) {
  Process p([] { std::exit(3); });
  p.start();
  p.join();
  EXPECT_EQ(p.exitcode(), 3);
}

TEST(Process, ExitCodeComesFromUnderscoreExitInTheChild) {
  Process p([] { ::_exit(7); });
  p.start();
  p.join();
  EXPECT_EQ(p.exitcode(), 7);
}

TEST(Process, UncaughtExceptionGivesExitCodeOneAndOneStderrLineWithTypeAndMessage) {
  TestPipe err;
  Process p(
      [](int fd) {
        ::dup2(fd, 2);
        throw std::invalid_argument("bad pixel at (3, 4)");
      },
      err.w);
  p.start();
  err.close_write();
  p.join();
  EXPECT_EQ(p.exitcode(), 1);
  const std::string text = read_all(err.r);
  const std::string expected = "Process " + p.name() + " (pid " + std::to_string(p.pid()) +
                               "): uncaught exception std::invalid_argument: bad pixel at (3, 4)\n";
  EXPECT_EQ(text, expected);
}

TEST(Process, UncaughtExceptionTypeNameIsDemangled) {
  TestPipe err;
  Process p(
      [](int fd) {
        ::dup2(fd, 2);
        throw test_ns::ParseError("truncated header");
      },
      err.w);
  p.start();
  err.close_write();
  p.join();
  EXPECT_EQ(p.exitcode(), 1);
  const std::string text = read_all(err.r);
  EXPECT_NE(text.find("test_ns::ParseError: truncated header"), std::string::npos) << text;
}

TEST(Process, UncaughtNonStdExceptionIsReportedByItsType) {
  TestPipe err;
  Process p(
      [](int fd) {
        ::dup2(fd, 2);
        throw 42;
      },
      err.w);
  p.start();
  err.close_write();
  p.join();
  EXPECT_EQ(p.exitcode(), 1);
  const std::string text = read_all(err.r);
  EXPECT_NE(text.find("uncaught exception int (not derived from std::exception)"),
            std::string::npos)
      << text;
}

TEST(Process, ChildFlushesStdioAndCoutWhenTheFunctionReturns) {
  TestPipe out;
  Process p(
      [](int fd) {
        ::dup2(fd, 1);
        std::ios::sync_with_stdio(false);  // std::cout buffers on its own from here
        std::printf("printf-");
        std::cout << "cout";
      },
      out.w);
  p.start();
  out.close_write();
  p.join();
  EXPECT_EQ(p.exitcode(), 0);
  const std::string text = read_all(out.r);
  EXPECT_NE(text.find("printf-"), std::string::npos) << text;
  EXPECT_NE(text.find("cout"), std::string::npos) << text;
}

// --- signals (RELIABILITY A11) ---------------------------------------------------------------

TEST(Process, TerminateGivesExitCodeMinusSigterm) {
  TestPipe ready;
  Process p(ready_then_pause(ready.w));
  p.start();
  ASSERT_EQ(read_byte(ready.r), 'x');
  p.terminate();
  p.join();
  EXPECT_EQ(p.exitcode(), -SIGTERM);
}

TEST(Process, KillGivesExitCodeMinusSigkill) {
  TestPipe ready;
  Process p(ready_then_pause(ready.w));
  p.start();
  ASSERT_EQ(read_byte(ready.r), 'x');
  p.kill();
  p.join();
  EXPECT_EQ(p.exitcode(), -SIGKILL);
}

TEST(Process, KillStopsAChildThatBlocksSigterm) {
  TestPipe ready;
  Process p([fd = ready.w] {
    sigset_t term;
    sigemptyset(&term);
    sigaddset(&term, SIGTERM);
    ::sigprocmask(SIG_BLOCK, &term, nullptr);
    write_byte(fd);
    pause_forever();
  });
  p.start();
  ASSERT_EQ(read_byte(ready.r), 'x');
  p.terminate();
  EXPECT_FALSE(p.join(100ms)) << "SIGTERM is blocked: the child must still be running";
  EXPECT_TRUE(p.is_alive());
  p.kill();
  p.join();
  EXPECT_EQ(p.exitcode(), -SIGKILL);
}

void noop_handler(int) {}

TEST(Process, ChildHasDefaultSignalDispositionsEvenIfTheParentHandlesSigterm) {
  struct sigaction handler {
  }, old{};
  handler.sa_handler = noop_handler;
  sigemptyset(&handler.sa_mask);
  ASSERT_EQ(::sigaction(SIGTERM, &handler, &old), 0);
  TestPipe ready;
  Process p(ready_then_pause(ready.w));
  p.start();
  ::sigaction(SIGTERM, &old, nullptr);
  ASSERT_EQ(read_byte(ready.r), 'x');
  p.terminate();
  if (!p.join(10s)) {
    p.kill();
    FAIL() << "SIGTERM did not stop the child: the parent's handler is still installed there";
  }
  EXPECT_EQ(p.exitcode(), -SIGTERM);
}

TEST(Process, ChildKeepsTheParentsSignalMask) {
  sigset_t usr1, old;
  sigemptyset(&usr1);
  sigaddset(&usr1, SIGUSR1);
  ASSERT_EQ(::pthread_sigmask(SIG_BLOCK, &usr1, &old), 0);
  TestPipe res;
  Process p([fd = res.w] {
    sigset_t now;
    ::pthread_sigmask(SIG_SETMASK, nullptr, &now);
    write_str(fd, sigismember(&now, SIGUSR1) ? "blocked" : "unblocked");
  });
  p.start();
  ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
  res.close_write();
  p.join();
  EXPECT_EQ(read_all(res.r), "blocked");
}

TEST(Process, TerminateAndKillAfterTheChildEndedAreNoOps) {
  Process p([] {});
  p.start();
  p.join();
  p.terminate();
  p.kill();
  EXPECT_EQ(p.exitcode(), 0);
}

// --- join, is_alive, exitcode, sentinel ---------------------------------------------------

TEST(Process, JoinWithTimeoutIsFalseWhileRunningAndTrueAfterTheChildEnds) {
  TestPipe go;
  Process p([fd = go.r] { (void)read_byte(fd); });
  p.start();
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_FALSE(p.join(50ms));
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 50ms);
  EXPECT_FALSE(p.join(0s));
  EXPECT_EQ(p.exitcode(), std::nullopt);
  write_byte(go.w);
  EXPECT_TRUE(p.join(30s));
  EXPECT_EQ(p.exitcode(), 0);
  EXPECT_TRUE(p.join(0s)) << "join after the child was reaped returns at once";
  p.join();
}

TEST(Process, JoinWithHugeTimeoutMeansNoTimeout) {
  Process p([] {});
  p.start();
  EXPECT_TRUE(p.join(std::chrono::hours::max()));
  EXPECT_EQ(p.exitcode(), 0);
}

TEST(Process, IsAliveIsFalseBeforeStartTrueWhileRunningFalseAfterItEnds) {
  TestPipe go;
  Process p([fd = go.r] { (void)read_byte(fd); });
  EXPECT_FALSE(p.is_alive());
  EXPECT_EQ(p.exitcode(), std::nullopt);
  p.start();
  EXPECT_TRUE(p.is_alive());
  EXPECT_EQ(p.exitcode(), std::nullopt);
  write_byte(go.w);
  p.join();
  EXPECT_FALSE(p.is_alive());
  EXPECT_EQ(p.exitcode(), 0);
}

TEST(Process, IsAliveNoticesTheEndWithoutJoinAndReaps) {
  Process p([] { ::_exit(5); });
  p.start();
  // Wait through the sentinel, not through join(): is_alive()/exitcode() must reap by themselves.
  ASSERT_TRUE(readable_within(p.sentinel(), 10'000));
  EXPECT_FALSE(p.is_alive());
  EXPECT_EQ(p.exitcode(), 5);
}

TEST(Process, SentinelBecomesReadableWhenTheChildEnds) {
  TestPipe go;
  Process p([fd = go.r] { (void)read_byte(fd); });
  p.start();
  EXPECT_GE(p.sentinel(), 0);
  EXPECT_FALSE(readable_within(p.sentinel(), 0));
  write_byte(go.w);
  EXPECT_TRUE(readable_within(p.sentinel(), 10'000));
  p.join();
  EXPECT_TRUE(readable_within(p.sentinel(), 0)) << "stays readable after the reap";
}

TEST(Process, IsAliveFromAnotherThreadWhileJoinWaits) {
  TestPipe go;
  Process p([fd = go.r] { (void)read_byte(fd); });
  p.start();
  std::thread joiner([&] { p.join(); });
  EXPECT_TRUE(p.is_alive());
  write_byte(go.w);
  joiner.join();
  EXPECT_FALSE(p.is_alive());
  EXPECT_EQ(p.exitcode(), 0);
}

TEST(Process, TwoThreadsJoiningTheSameProcessBothReturn) {
  TestPipe go;
  Process p([fd = go.r] { (void)read_byte(fd); });
  p.start();
  std::thread a([&] { p.join(); });
  std::thread b([&] { EXPECT_TRUE(p.join(30s)); });
  write_byte(go.w);
  a.join();
  b.join();
  EXPECT_EQ(p.exitcode(), 0);
}

// --- identity ---------------------------------------------------------------------------

TEST(Process, DefaultNamesArePythonStyleProcessNumbers) {
  Process a([] {});
  Process b([] {});
  ASSERT_EQ(a.name().rfind("Process-", 0), 0u) << a.name();
  const int n = std::stoi(a.name().substr(8));
  EXPECT_GT(n, 0);
  EXPECT_EQ(b.name(), "Process-" + std::to_string(n + 1));
}

TEST(Process, CustomNameAndDaemonFlagAreKept) {
  Process p(ProcessOptions{.name = "loader", .daemon = true}, [] {});
  EXPECT_EQ(p.name(), "loader");
  EXPECT_TRUE(p.daemon());
  Process q([] {});
  EXPECT_FALSE(q.daemon());
}

TEST(Process, ChildrenOfAChildAreNamedProcessNColonM) {
  TestPipe res;
  Process p([fd = res.w] {
    Process first([] {});
    Process second([] { ::_exit(4); });
    second.start();
    second.join();
    write_str(fd, first.name() + " " + second.name() + " " +
                      std::to_string(second.exitcode().value_or(-100)));
  });
  p.start();
  res.close_write();
  p.join();
  EXPECT_EQ(p.exitcode(), 0);
  EXPECT_EQ(read_all(res.r), p.name() + ":1 " + p.name() + ":2 4");
}

TEST(Process, PidIsPositiveDiffersFromTheParentAndIsTheChildsPid) {
  TestPipe res;
  Process p([fd = res.w] { write_number(fd, ::getpid()); });
  EXPECT_EQ(p.pid(), 0);
  p.start();
  res.close_write();
  p.join();
  EXPECT_GT(p.pid(), 0);
  EXPECT_NE(p.pid(), ::getpid());
  EXPECT_EQ(read_all(res.r), std::to_string(p.pid()));
}

// --- arguments -----------------------------------------------------------------------------

TEST(Process, ChildSeesStringAndVectorArgumentsAndWritesResultsBack) {
  TestPipe res;
  Process p(
      [](int fd, const std::string& s, std::vector<int> v) {
        write_str(fd, s + ":" + std::to_string(std::accumulate(v.begin(), v.end(), 0)));
      },
      res.w, std::string("hello"), std::vector<int>{1, 2, 3, 4});
  p.start();
  res.close_write();
  p.join();
  EXPECT_EQ(p.exitcode(), 0);
  EXPECT_EQ(read_all(res.r), "hello:10");
}

TEST(Process, ArgumentsAreCopiedAtConstruction) {
  TestPipe res;
  std::string s = "before";
  Process p([](int fd, const std::string& x) { write_str(fd, x); }, res.w, s);
  s = "after";
  p.start();
  res.close_write();
  p.join();
  EXPECT_EQ(read_all(res.r), "before");
}

TEST(Process, MoveOnlyArgumentsReachTheChild) {
  TestPipe res;
  Process p([](int fd, std::unique_ptr<int> x) { write_number(fd, *x); }, res.w,
            std::make_unique<int>(42));
  p.start();
  res.close_write();
  p.join();
  EXPECT_EQ(read_all(res.r), "42");
}

TEST(Process, FunctionPointersAndCapturingLambdasWork) {
  TestPipe res;
  Process f(write_number, res.w, 7);
  Process g(&write_number, res.w, 8);
  std::string captured = "-lambda";
  Process h([captured, fd = res.w] { write_str(fd, captured); });
  f.start();
  f.join();
  g.start();
  g.join();
  h.start();
  h.join();
  res.close_write();
  EXPECT_EQ(read_all(res.r), "78-lambda");
}

// --- misuse ------------------------------------------------------------------------------

TEST(Process, StartTwiceThrowsError) {
  Process p([] {});
  p.start();
  const std::string msg = error_message([&] { p.start(); });
  EXPECT_NE(msg.find("already started"), std::string::npos) << msg;
  p.join();
  EXPECT_EQ(p.exitcode(), 0);
}

TEST(Process, JoinBeforeStartThrowsError) {
  Process p([] {});
  const std::string msg = error_message([&] { p.join(); });
  EXPECT_NE(msg.find("not been started"), std::string::npos) << msg;
  EXPECT_THROW((void)p.join(1ms), mproc::Error);
}

TEST(Process, TerminateKillAndSentinelBeforeStartThrowError) {
  Process p([] {});
  EXPECT_THROW(p.terminate(), mproc::Error);
  EXPECT_THROW(p.kill(), mproc::Error);
  EXPECT_THROW((void)p.sentinel(), mproc::Error);
}

TEST(Process, StartingOrJoiningFromInsideTheChildThrowsError) {
  // Exit code bits: 1 = q.start() threw Error, 2 = p.start() (itself) threw Error, 4 = p.join()
  // threw Error, 8 = the message names both pids.
  Process q([] {});
  std::optional<Process> p;
  p.emplace([&q, &p] {
    int bits = 0;
    try {
      q.start();
    } catch (const mproc::Error& e) {
      bits |= 1;
      const std::string what = e.what();
      if (what.find(std::to_string(::getpid())) != std::string::npos &&
          what.find(std::to_string(::getppid())) != std::string::npos) {
        bits |= 8;
      }
    }
    try {
      p->start();
    } catch (const mproc::Error&) {
      bits |= 2;
    }
    try {
      p->join();
    } catch (const mproc::Error&) {
      bits |= 4;
    }
    ::_exit(bits);
  });
  p->start();
  p->join();
  EXPECT_EQ(p->exitcode(), 15);
  EXPECT_FALSE(q.is_alive()) << "q was never started";
}

TEST(Process, ForkserverAndSpawnStartProcessesToo) {
  Process a(ProcessOptions{.start_method = StartMethod::forkserver}, [] {});
  a.start();  // process_spawn_test.cpp has the rest
  a.join();
  EXPECT_EQ(a.exitcode(), 0);

  mproc::set_start_method(StartMethod::spawn);
  Process b([] {});
  mproc::set_start_method(StartMethod::fork);
  b.start();  // process_spawn_test.cpp has the rest
  b.join();
  EXPECT_EQ(b.exitcode(), 0);

  Process c(ProcessOptions{.start_method = StartMethod::fork}, [] {});
  c.start();
  c.join();
  EXPECT_EQ(c.exitcode(), 0);
}

TEST(Process, MovedFromProcessThrowsErrorAndTheMoveKeepsTheChild) {
  Process a([] { ::_exit(9); });
  a.start();
  const int pid = a.pid();
  Process b(std::move(a));
  EXPECT_EQ(b.pid(), pid);
  EXPECT_THROW(a.join(), mproc::Error);  // NOLINT(bugprone-use-after-move): the point
  b.join();
  EXPECT_EQ(b.exitcode(), 9);
}

TEST(Process, MoveAssignmentFinishesTheChildItReplaces) {
  TestPipe res;
  Process a([fd = res.w] { write_str(fd, "a"); });
  a.start();
  Process b([fd = res.w] { write_str(fd, "b"); });
  b.start();
  a = std::move(b);  // joins a's child (non-daemon), then takes b's
  a.join();
  EXPECT_EQ(a.exitcode(), 0);
  res.close_write();
  std::string text = read_all(res.r);
  std::sort(text.begin(), text.end());
  EXPECT_EQ(text, "ab");
}

// --- destructor ------------------------------------------------------------------------

// Waits until thread `tid` of this process sits in one of the given system calls.
bool wait_until_blocked_in(int tid, std::initializer_list<long> calls) {
  const std::string path = "/proc/self/task/" + std::to_string(tid) + "/syscall";
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while (std::chrono::steady_clock::now() < deadline) {
    std::ifstream f(path);
    long nr = -1;
    if (f >> nr) {
      for (long c : calls) {
        if (nr == c) return true;
      }
    }
    std::this_thread::sleep_for(1ms);  // polling a condition, not guessing a delay
  }
  return false;
}

TEST(Process, DestructorJoinsARunningNonDaemonChild) {
  TestPipe go, done;
  std::optional<Process> p;
  p.emplace([go_fd = go.r, done_fd = done.w] {
    if (read_byte(go_fd) == 'x') write_byte(done_fd, 'd');
  });
  p->start();
  done.close_write();
  // Let the child finish only once the main thread is blocked inside ~Process: if the
  // destructor killed the child or did not wait, 'd' would be missing below.
  const int main_tid = static_cast<int>(::syscall(SYS_gettid));
  bool saw_block = false;
  std::thread helper([&] {
    saw_block = wait_until_blocked_in(main_tid, {SYS_waitid, SYS_ppoll, SYS_poll});
    write_byte(go.w);
  });
  p.reset();
  helper.join();
  EXPECT_TRUE(saw_block);
  ASSERT_TRUE(readable_within(done.r, 0)) << "~Process returned before the child finished";
  EXPECT_EQ(read_byte(done.r), 'd');
}

TEST(Process, DestructorStopsARunningDaemonChildAndReapsIt) {
  TestPipe ready, alive;
  {
    Process p(ProcessOptions{.daemon = true}, [r = ready.w] {
      write_byte(r);
      pause_forever();
    });
    p.start();
    ASSERT_EQ(read_byte(ready.r), 'x');
  }
  // The child held the only other copy of alive.w: it is gone once ~Process returned.
  alive.close_write();
  EXPECT_TRUE(readable_within(alive.r, 0));
  char c;
  EXPECT_EQ(::read(alive.r, &c, 1), 0);
}

TEST(Process, DestructorKillsADaemonThatIgnoresSigtermAfterAGrace) {
  TestPipe ready, alive;
  const auto t0 = std::chrono::steady_clock::now();
  {
    Process p(ProcessOptions{.daemon = true}, [r = ready.w] {
      ::signal(SIGTERM, SIG_IGN);
      write_byte(r);
      pause_forever();
    });
    p.start();
    ASSERT_EQ(read_byte(ready.r), 'x');
  }
  const auto elapsed = std::chrono::steady_clock::now() - t0;
  alive.close_write();
  EXPECT_TRUE(readable_within(alive.r, 0));
  EXPECT_GE(elapsed, 900ms) << "SIGKILL comes only after the grace";
  EXPECT_LT(elapsed, 10s);
}

TEST(Process, DestructorOfAnUnstartedOrFinishedProcessDoesNothing) {
  {
    Process p([] {});
  }
  {
    Process p([] {});
    p.start();
    p.join();
  }
  SUCCEED();  // the harness checks that no child is left
}

}  // namespace
