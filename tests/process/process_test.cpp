// Process: every behaviour under each start method (ProcessByMethod/..., fork, forkserver and
// spawn), then the few whose subject is fork itself (Process/...: a capturing closure, the
// child's copy of the parent's memory). Under forkserver and spawn the child shares nothing with
// the test but what the task carries, so the tasks here are captureless lambdas or functions,
// and the child reports through handle arguments (an Event, a Value, a Pipe end) or a file.
#include "mproc/process.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <future>
#include <iostream>
#include <iterator>
#include <memory>
#include <numeric>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "mproc/error.hpp"
#include "mproc/event.hpp"
#include "mproc/pipe.hpp"
#include "mproc/start_method.hpp"
#include "mproc/value.hpp"
#include "test_pipe.hpp"

namespace {

using mproc::Process;
using mproc::ProcessOptions;
using mproc::StartMethod;
using mproc::test::read_all;
using mproc::test::readable_within;
using mproc::test::TestPipe;
using mproc::test::write_str;
using namespace std::chrono_literals;

class ProcessByMethod : public testing::TestWithParam<StartMethod> {
 protected:
  [[nodiscard]] ProcessOptions opts(ProcessOptions o = {}) const {
    o.start_method = GetParam();
    return o;
  }
};

[[noreturn]] void pause_forever() {
  for (;;) ::pause();
}

// A child that says "ready", then waits to be signalled.
void ready_then_pause(mproc::Event ready) {
  ready.set();
  pause_forever();
}

// A child that waits for "go" (at most 30 s, so a failed test does not hang in ~Process).
void wait_for_go(mproc::Event go) { (void)go.wait(30s); }

// What a child reports: the test keeps `mine`, the child gets `theirs` as an argument.
struct Report {
  Report() {
    auto [a, b] = mproc::Pipe<std::string>();
    mine = std::move(a);
    theirs = std::move(b);
  }
  // The next report; a placeholder if none comes within 10 s.
  std::string next() { return mine.poll(10s) ? mine.recv() : "<no report within 10 s>"; }
  mproc::Connection<std::string> mine, theirs;
};

// A file the child writes its stdout or stderr to; the test reads it after join().
struct TempFile {
  TempFile() {
    char name[] = "/tmp/mproc-process-test-XXXXXX";
    const int fd = ::mkstemp(name);
    if (fd >= 0) ::close(fd);
    path = name;
  }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  ~TempFile() { ::unlink(path.c_str()); }
  [[nodiscard]] std::string text() const {
    std::ifstream in(path);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  }
  std::string path;
};

// In the child: fd `target` (1 or 2) writes to the file at `path` from here on.
void redirect(const std::string& path, int target) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) std::_Exit(90);
  ::dup2(fd, target);
  ::close(fd);
}

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

TEST_P(ProcessByMethod, ExitCodeIsZeroAfterNormalReturn) {
  Process p(opts(), [] {});
  p.start();
  p.join();
  EXPECT_EQ(p.exitcode(), 0);
}

TEST_P(ProcessByMethod, ExitCodeComesFromStdExitInTheChild) {
  Process p(opts(), [] { std::exit(3); });
  p.start();
  p.join();
  EXPECT_EQ(p.exitcode(), 3);
}

TEST_P(ProcessByMethod, ExitCodeComesFromUnderscoreExitInTheChild) {
  Process p(opts(), [] { ::_exit(7); });
  p.start();
  p.join();
  EXPECT_EQ(p.exitcode(), 7);
}

TEST_P(ProcessByMethod, UncaughtExceptionGivesExitCodeOneAndOneStderrLineWithTypeAndMessage) {
  TempFile err;
  Process p(
      opts(),
      [](const std::string& path) {
        redirect(path, 2);
        throw std::invalid_argument("bad pixel at (3, 4)");
      },
      err.path);
  p.start();
  p.join();
  EXPECT_EQ(p.exitcode(), 1);
  const std::string expected = "Process " + p.name() + " (pid " + std::to_string(p.pid()) +
                               "): uncaught exception std::invalid_argument: bad pixel at (3, 4)\n";
  EXPECT_EQ(err.text(), expected);
}

TEST_P(ProcessByMethod, UncaughtExceptionTypeNameIsDemangled) {
  TempFile err;
  Process p(
      opts(),
      [](const std::string& path) {
        redirect(path, 2);
        throw test_ns::ParseError("truncated header");
      },
      err.path);
  p.start();
  p.join();
  EXPECT_EQ(p.exitcode(), 1);
  const std::string text = err.text();
  EXPECT_NE(text.find("test_ns::ParseError: truncated header"), std::string::npos) << text;
}

TEST_P(ProcessByMethod, UncaughtNonStdExceptionIsReportedByItsType) {
  TempFile err;
  Process p(
      opts(),
      [](const std::string& path) {
        redirect(path, 2);
        throw 42;
      },
      err.path);
  p.start();
  p.join();
  EXPECT_EQ(p.exitcode(), 1);
  const std::string text = err.text();
  EXPECT_NE(text.find("uncaught exception int (not derived from std::exception)"),
            std::string::npos)
      << text;
}

TEST_P(ProcessByMethod, ChildFlushesStdioAndCoutWhenTheFunctionReturns) {
  TempFile out;
  Process p(
      opts(),
      [](const std::string& path) {
        redirect(path, 1);
        std::ios::sync_with_stdio(false);  // std::cout buffers on its own from here
        std::printf("printf-");
        std::cout << "cout";
      },
      out.path);
  p.start();
  p.join();
  EXPECT_EQ(p.exitcode(), 0);
  const std::string text = out.text();
  EXPECT_NE(text.find("printf-"), std::string::npos) << text;
  EXPECT_NE(text.find("cout"), std::string::npos) << text;
}

// --- signals (RELIABILITY A11) ---------------------------------------------------------------

TEST_P(ProcessByMethod, TerminateGivesExitCodeMinusSigterm) {
  mproc::Event ready;
  Process p(opts(), ready_then_pause, ready);
  p.start();
  ASSERT_TRUE(ready.wait(10s));
  p.terminate();
  p.join();
  EXPECT_EQ(p.exitcode(), -SIGTERM);
}

TEST_P(ProcessByMethod, KillGivesExitCodeMinusSigkill) {
  mproc::Event ready;
  Process p(opts(), ready_then_pause, ready);
  p.start();
  ASSERT_TRUE(ready.wait(10s));
  p.kill();
  p.join();
  EXPECT_EQ(p.exitcode(), -SIGKILL);
}

TEST_P(ProcessByMethod, KillStopsAChildThatBlocksSigterm) {
  mproc::Event ready;
  Process p(
      opts(),
      [](mproc::Event ready) {
        sigset_t term;
        sigemptyset(&term);
        sigaddset(&term, SIGTERM);
        ::sigprocmask(SIG_BLOCK, &term, nullptr);
        ready.set();
        pause_forever();
      },
      ready);
  p.start();
  ASSERT_TRUE(ready.wait(10s));
  p.terminate();
  EXPECT_FALSE(p.join(100ms)) << "SIGTERM is blocked: the child must still be running";
  EXPECT_TRUE(p.is_alive());
  p.kill();
  p.join();
  EXPECT_EQ(p.exitcode(), -SIGKILL);
}

void noop_handler(int) {}

// Starts a child while this process's SIGTERM disposition is `disposition`, then SIGTERMs it: the
// child must have the default disposition back and die by the signal.
void expect_default_sigterm_in_child(const ProcessOptions& options, void (*disposition)(int),
                                     const char* otherwise) {
  struct sigaction changed {
  }, old{};
  changed.sa_handler = disposition;
  sigemptyset(&changed.sa_mask);
  ASSERT_EQ(::sigaction(SIGTERM, &changed, &old), 0);
  mproc::Event ready;
  Process p(options, ready_then_pause, ready);
  p.start();
  ::sigaction(SIGTERM, &old, nullptr);
  ASSERT_TRUE(ready.wait(10s));
  p.terminate();
  if (!p.join(10s)) {
    p.kill();
    FAIL() << "SIGTERM did not stop the child: " << otherwise;
  }
  EXPECT_EQ(p.exitcode(), -SIGTERM);
}

TEST_P(ProcessByMethod, ChildHasDefaultSignalDispositionsEvenIfTheParentHandlesSigterm) {
  expect_default_sigterm_in_child(opts(), noop_handler,
                                  "the parent's handler is still installed there");
}

// An ignored signal survives fork and exec alike unless the launcher resets it.
TEST_P(ProcessByMethod, ChildHasDefaultSignalDispositionsEvenIfTheParentIgnoresSigterm) {
  expect_default_sigterm_in_child(opts(), SIG_IGN, "it is still ignored there");
}

TEST_P(ProcessByMethod, ChildKeepsTheParentsSignalMask) {
  sigset_t usr1, old;
  sigemptyset(&usr1);
  sigaddset(&usr1, SIGUSR1);
  ASSERT_EQ(::pthread_sigmask(SIG_BLOCK, &usr1, &old), 0);
  Report report;
  Process p(
      opts(),
      [](mproc::Connection<std::string> out) {
        sigset_t now;
        ::pthread_sigmask(SIG_SETMASK, nullptr, &now);
        out.send(sigismember(&now, SIGUSR1) ? "blocked" : "unblocked");
      },
      std::move(report.theirs));
  p.start();
  ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
  EXPECT_EQ(report.next(), "blocked");
  p.join();
}

TEST_P(ProcessByMethod, TerminateAndKillAfterTheChildEndedAreNoOps) {
  Process p(opts(), [] {});
  p.start();
  p.join();
  p.terminate();
  p.kill();
  EXPECT_EQ(p.exitcode(), 0);
}

// --- join, is_alive, exitcode, sentinel ---------------------------------------------------

TEST_P(ProcessByMethod, JoinWithTimeoutIsFalseWhileRunningAndTrueAfterTheChildEnds) {
  mproc::Event go;
  Process p(opts(), wait_for_go, go);
  p.start();
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_FALSE(p.join(50ms));
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 50ms);
  EXPECT_FALSE(p.join(0s));
  EXPECT_EQ(p.exitcode(), std::nullopt);
  go.set();
  EXPECT_TRUE(p.join(30s));
  EXPECT_EQ(p.exitcode(), 0);
  EXPECT_TRUE(p.join(0s)) << "join after the child was reaped returns at once";
  p.join();
}

TEST_P(ProcessByMethod, JoinWithHugeTimeoutMeansNoTimeout) {
  Process p(opts(), [] {});
  p.start();
  EXPECT_TRUE(p.join(std::chrono::hours::max()));
  EXPECT_EQ(p.exitcode(), 0);
}

TEST_P(ProcessByMethod, IsAliveIsFalseBeforeStartTrueWhileRunningFalseAfterItEnds) {
  mproc::Event go;
  Process p(opts(), wait_for_go, go);
  EXPECT_FALSE(p.is_alive());
  EXPECT_EQ(p.exitcode(), std::nullopt);
  p.start();
  EXPECT_TRUE(p.is_alive());
  EXPECT_EQ(p.exitcode(), std::nullopt);
  go.set();
  p.join();
  EXPECT_FALSE(p.is_alive());
  EXPECT_EQ(p.exitcode(), 0);
}

TEST_P(ProcessByMethod, IsAliveNoticesTheEndWithoutJoinAndReaps) {
  Process p(opts(), [] { ::_exit(5); });
  p.start();
  // Wait through the sentinel, not through join(): is_alive()/exitcode() must reap by themselves.
  ASSERT_TRUE(readable_within(p.sentinel(), 10'000));
  EXPECT_FALSE(p.is_alive());
  EXPECT_EQ(p.exitcode(), 5);
}

TEST_P(ProcessByMethod, ExitCodeIsKnownAsSoonAsTheSentinelIsReadable) {
  // Several rounds: a forkserver child's status comes from the server, which may tell it a moment
  // after the child's pidfd became readable here.
  for (int i = 0; i < 20; ++i) {
    Process p(opts(), [] { ::_exit(6); });
    p.start();
    ASSERT_TRUE(readable_within(p.sentinel(), 10'000));
    ASSERT_EQ(p.exitcode(), 6) << "round " << i;
  }
}

TEST_P(ProcessByMethod, SentinelBecomesReadableWhenTheChildEnds) {
  mproc::Event go;
  Process p(opts(), wait_for_go, go);
  p.start();
  EXPECT_GE(p.sentinel(), 0);
  EXPECT_FALSE(readable_within(p.sentinel(), 0));
  go.set();
  EXPECT_TRUE(readable_within(p.sentinel(), 10'000));
  p.join();
  EXPECT_TRUE(readable_within(p.sentinel(), 0)) << "stays readable after the reap";
}

TEST_P(ProcessByMethod, IsAliveFromAnotherThreadWhileJoinWaits) {
  mproc::Event go;
  Process p(opts(), wait_for_go, go);
  p.start();
  std::thread joiner([&] { p.join(); });
  EXPECT_TRUE(p.is_alive());
  go.set();
  joiner.join();
  EXPECT_FALSE(p.is_alive());
  EXPECT_EQ(p.exitcode(), 0);
}

TEST_P(ProcessByMethod, TwoThreadsJoiningTheSameProcessBothReturn) {
  mproc::Event go;
  Process p(opts(), wait_for_go, go);
  p.start();
  std::thread a([&] { p.join(); });
  std::thread b([&] { EXPECT_TRUE(p.join(30s)); });
  go.set();
  a.join();
  b.join();
  EXPECT_EQ(p.exitcode(), 0);
}

// --- identity ---------------------------------------------------------------------------

TEST_P(ProcessByMethod, DefaultNamesArePythonStyleProcessNumbers) {
  Process a(opts(), [] {});
  Process b(opts(), [] {});
  ASSERT_EQ(a.name().rfind("Process-", 0), 0u) << a.name();
  const int n = std::stoi(a.name().substr(8));
  EXPECT_GT(n, 0);
  EXPECT_EQ(b.name(), "Process-" + std::to_string(n + 1));
}

TEST_P(ProcessByMethod, CustomNameAndDaemonFlagAreKept) {
  Process p(opts({.name = "loader", .daemon = true}), [] {});
  EXPECT_EQ(p.name(), "loader");
  EXPECT_TRUE(p.daemon());
  Process q(opts(), [] {});
  EXPECT_FALSE(q.daemon());
}

TEST_P(ProcessByMethod, ChildrenOfAChildAreNamedProcessNColonM) {
  Report report;
  Process p(
      opts(),
      [](mproc::Connection<std::string> out) {
        Process first([] {});
        Process second([] { ::_exit(4); });
        second.start();
        second.join();
        out.send(first.name() + " " + second.name() + " " +
                 std::to_string(second.exitcode().value_or(-100)));
      },
      std::move(report.theirs));
  p.start();
  EXPECT_EQ(report.next(), p.name() + ":1 " + p.name() + ":2 4");
  p.join();
  EXPECT_EQ(p.exitcode(), 0);
}

TEST_P(ProcessByMethod, PidIsPositiveDiffersFromTheParentAndIsTheChildsPid) {
  mproc::Value<int> pid(0);
  Process p(
      opts(), [](mproc::Value<int> v) { v.store(::getpid()); }, pid);
  EXPECT_EQ(p.pid(), 0);
  p.start();
  p.join();
  EXPECT_EQ(p.exitcode(), 0);
  EXPECT_GT(p.pid(), 0);
  EXPECT_NE(p.pid(), ::getpid());
  EXPECT_EQ(pid.load(), p.pid());
}

// --- arguments -----------------------------------------------------------------------------

TEST_P(ProcessByMethod, ChildSeesStringAndVectorArgumentsAndWritesResultsBack) {
  Report report;
  Process p(
      opts(),
      [](mproc::Connection<std::string> out, const std::string& s, std::vector<int> v) {
        out.send(s + ":" + std::to_string(std::accumulate(v.begin(), v.end(), 0)));
      },
      std::move(report.theirs), std::string("hello"), std::vector<int>{1, 2, 3, 4});
  p.start();
  EXPECT_EQ(report.next(), "hello:10");
  p.join();
  EXPECT_EQ(p.exitcode(), 0);
}

TEST_P(ProcessByMethod, ArgumentsAreCopiedAtConstruction) {
  Report report;
  std::string s = "before";
  Process p(
      opts(), [](mproc::Connection<std::string> out, const std::string& x) { out.send(x); },
      std::move(report.theirs), s);
  s = "after";
  p.start();
  EXPECT_EQ(report.next(), "before");
  p.join();
}

// Move-only and transferable: crosses an exec as its serialized fields.
struct MoveOnlyNumber {
  int n = 0;
  MoveOnlyNumber() = default;
  explicit MoveOnlyNumber(int v) : n(v) {}
  MoveOnlyNumber(MoveOnlyNumber&&) = default;
  MoveOnlyNumber& operator=(MoveOnlyNumber&&) = default;
  MoveOnlyNumber(const MoveOnlyNumber&) = delete;
  MoveOnlyNumber& operator=(const MoveOnlyNumber&) = delete;
  template <class Ar>
  void serialize(Ar& ar) {
    ar(n);
  }
};

TEST_P(ProcessByMethod, MoveOnlyArgumentsReachTheChild) {
  mproc::Value<int> got(0);
  Process p(
      opts(), [](mproc::Value<int> v, MoveOnlyNumber x) { v.store(x.n); }, got, MoveOnlyNumber(42));
  p.start();
  p.join();
  EXPECT_EQ(p.exitcode(), 0);
  EXPECT_EQ(got.load(), 42);
}

// Fork only: a std::unique_ptr holds an address in this process, which cannot cross an exec.
TEST(Process, UniquePtrArgumentsReachAForkedChild) {
  TestPipe res;
  Process p([](int fd, std::unique_ptr<int> x) { write_str(fd, std::to_string(*x)); }, res.w,
            std::make_unique<int>(42));
  p.start();
  res.close_write();
  p.join();
  EXPECT_EQ(read_all(res.r), "42");
}

void write_number(int fd, int n) { write_str(fd, std::to_string(n)); }

// Fork only: the subject is any callable, a closure capturing a std::string included.
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

TEST_P(ProcessByMethod, StartTwiceThrowsError) {
  Process p(opts(), [] {});
  p.start();
  const std::string msg = error_message([&] { p.start(); });
  EXPECT_NE(msg.find("already started"), std::string::npos) << msg;
  p.join();
  EXPECT_EQ(p.exitcode(), 0);
}

TEST_P(ProcessByMethod, JoinBeforeStartThrowsError) {
  Process p(opts(), [] {});
  const std::string msg = error_message([&] { p.join(); });
  EXPECT_NE(msg.find("not been started"), std::string::npos) << msg;
  EXPECT_THROW((void)p.join(1ms), mproc::Error);
}

TEST_P(ProcessByMethod, TerminateKillAndSentinelBeforeStartThrowError) {
  Process p(opts(), [] {});
  EXPECT_THROW(p.terminate(), mproc::Error);
  EXPECT_THROW(p.kill(), mproc::Error);
  EXPECT_THROW((void)p.sentinel(), mproc::Error);
}

// Fork only: the subject is the child's copy of the parent's Process objects.
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

// Not parameterised: the subject is how the method is chosen (option, then the default).
TEST(Process, ForkserverAndSpawnStartProcessesToo) {
  Process a(ProcessOptions{.start_method = StartMethod::forkserver}, [] {});
  a.start();
  a.join();
  EXPECT_EQ(a.exitcode(), 0);

  mproc::set_start_method(StartMethod::spawn);
  Process b([] {});
  mproc::set_start_method(StartMethod::fork);
  b.start();
  b.join();
  EXPECT_EQ(b.exitcode(), 0);

  Process c(ProcessOptions{.start_method = StartMethod::fork}, [] {});
  c.start();
  c.join();
  EXPECT_EQ(c.exitcode(), 0);
}

TEST_P(ProcessByMethod, MovedFromProcessThrowsErrorAndTheMoveKeepsTheChild) {
  Process a(opts(), [] { ::_exit(9); });
  a.start();
  const int pid = a.pid();
  Process b(std::move(a));
  EXPECT_EQ(b.pid(), pid);
  EXPECT_THROW(a.join(), mproc::Error);  // NOLINT(bugprone-use-after-move): the point
  b.join();
  EXPECT_EQ(b.exitcode(), 9);
}

TEST_P(ProcessByMethod, MoveAssignmentFinishesTheChildItReplaces) {
  mproc::Event go;
  mproc::Value<int> a_done(0), b_done(0);
  const auto task = [](mproc::Event go, mproc::Value<int> done) {
    (void)go.wait(30s);
    done.store(1);
  };
  Process a(opts(), task, go, a_done);
  a.start();
  Process b(opts(), task, go, b_done);
  b.start();
  go.set();
  a = std::move(b);  // joins a's child (non-daemon), then takes b's
  EXPECT_EQ(a_done.load(), 1) << "the replaced child was not joined";
  a.join();
  EXPECT_EQ(a.exitcode(), 0);
  EXPECT_EQ(b_done.load(), 1);
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

int current_tid() { return static_cast<int>(::syscall(SYS_gettid)); }

TEST_P(ProcessByMethod, DestructorJoinsARunningNonDaemonChild) {
  mproc::Event go, done;
  std::optional<Process> p;
  p.emplace(
      opts(),
      [](mproc::Event go, mproc::Event done) {
        if (go.wait(30s)) done.set();
      },
      go, done);
  p->start();
  // Let the child finish only once the main thread is blocked inside ~Process: if the
  // destructor killed the child or did not wait, `done` would not be set below.
  const int main_tid = current_tid();
  bool saw_block = false;
  std::thread helper([&] {
    saw_block = wait_until_blocked_in(main_tid, {SYS_waitid, SYS_ppoll, SYS_poll});
    go.set();
  });
  p.reset();
  helper.join();
  EXPECT_TRUE(saw_block);
  EXPECT_TRUE(done.is_set()) << "~Process returned before the child finished";
}

// While one thread's ~Process waits for its child, other threads go on starting and joining
// processes (under forkserver all of them talk to the one server).
TEST_P(ProcessByMethod, ADestructorWaitingForItsChildDoesNotHoldUpOtherProcesses) {
  mproc::Event go;
  mproc::Value<int> went(0);
  std::optional<Process> waiting;
  waiting.emplace(
      opts(),
      [](mproc::Event go, mproc::Value<int> went) {
        if (go.wait(20s)) went.store(1);
      },
      go, went);
  waiting->start();
  std::promise<int> tid;
  std::thread destroyer([&] {
    tid.set_value(current_tid());
    waiting.reset();
  });
  // Blocked in ~Process: in the wait for the child, whichever call that takes.
  EXPECT_TRUE(wait_until_blocked_in(tid.get_future().get(),
                                    {SYS_waitid, SYS_ppoll, SYS_poll, SYS_recvmsg, SYS_read}));
  Process setter(
      opts(), [](mproc::Event go) { go.set(); }, go);
  setter.start();
  setter.join();
  destroyer.join();
  EXPECT_EQ(setter.exitcode(), 0);
  EXPECT_EQ(went.load(), 1) << "the other process started only after the first one gave up";
}

TEST_P(ProcessByMethod, DestructorStopsARunningDaemonChildAndReapsIt) {
  mproc::Event ready;
  auto [mine, theirs] = mproc::Pipe<int>();
  {
    Process p(
        opts({.daemon = true}),
        [](mproc::Event ready, mproc::Connection<int> /*keep*/) {
          ready.set();
          pause_forever();
        },
        ready, std::move(theirs));
    p.start();
    ASSERT_TRUE(ready.wait(10s));
  }
  // The child held the only other copy of `theirs`: it is gone once ~Process returned.
  EXPECT_TRUE(mine.poll(0s));
  EXPECT_THROW((void)mine.recv(), mproc::EOFError);
}

TEST_P(ProcessByMethod, DestructorKillsADaemonThatIgnoresSigtermAfterAGrace) {
  mproc::Event ready;
  auto [mine, theirs] = mproc::Pipe<int>();
  const auto t0 = std::chrono::steady_clock::now();
  {
    Process p(
        opts({.daemon = true}),
        [](mproc::Event ready, mproc::Connection<int> /*keep*/) {
          ::signal(SIGTERM, SIG_IGN);
          ready.set();
          pause_forever();
        },
        ready, std::move(theirs));
    p.start();
    ASSERT_TRUE(ready.wait(10s));
  }
  const auto elapsed = std::chrono::steady_clock::now() - t0;
  EXPECT_TRUE(mine.poll(0s));
  EXPECT_THROW((void)mine.recv(), mproc::EOFError);
  EXPECT_GE(elapsed, 900ms) << "SIGKILL comes only after the grace";
  EXPECT_LT(elapsed, 10s);
}

TEST_P(ProcessByMethod, DestructorOfAnUnstartedOrFinishedProcessDoesNothing) {
  {
    Process p(opts(), [] {});
  }
  {
    Process p(opts(), [] {});
    p.start();
    p.join();
  }
  SUCCEED();  // the harness checks that no child is left
}

INSTANTIATE_TEST_SUITE_P(StartMethods, ProcessByMethod,
                         testing::Values(StartMethod::fork, StartMethod::forkserver,
                                         StartMethod::spawn),
                         [](const testing::TestParamInfo<StartMethod>& info) {
                           return std::string(mproc::to_string(info.param));
                         });

}  // namespace
