#include "mproc/event.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <thread>
#include <vector>

#include "mproc/process.hpp"
#include "process/test_pipe.hpp"
#include "sync/sync_test_util.hpp"

namespace {

using mproc::Event;
using mproc::Process;
using mproc::test::read_byte;
using mproc::test::SignalStorm;
using mproc::test::TestPipe;
using mproc::test::write_byte;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

TEST(Event, SetClearAndIsSetAreSharedByCopies) {
  Event a;
  Event b = a;
  EXPECT_FALSE(a.is_set());
  b.set();
  EXPECT_TRUE(a.is_set());
  a.set();  // twice is fine
  EXPECT_TRUE(a.wait(0ms));
  EXPECT_TRUE(a.wait());
  b.clear();
  EXPECT_FALSE(a.is_set());
  EXPECT_FALSE(a.wait(0ms));
}

TEST(Event, SetInAChildWakesTheWaitingParent) {
  Event ev;
  TestPipe go;
  Process child([ev, r = go.r]() mutable {
    (void)read_byte(r);
    ev.set();
  });
  child.start();
  write_byte(go.w);  // the child sets it while the parent waits (or is about to)
  EXPECT_TRUE(ev.wait(10s));
  EXPECT_TRUE(ev.is_set());
  child.join();
  EXPECT_EQ(child.exitcode(), 0);
}

TEST(Event, SetInTheParentWakesWaitingChildren) {
  Event ev;
  std::vector<Process> children;
  for (int i = 0; i < 3; ++i) {
    children.emplace_back([ev]() mutable { ::_exit(ev.wait(10s) ? 0 : 1); });
    children.back().start();
  }
  ev.set();
  for (auto& c : children) {
    c.join();
    EXPECT_EQ(c.exitcode(), 0);
  }
}

TEST(Event, TimedWaitReturnsFalseInTime) {
  Event ev;
  const auto t0 = Clock::now();
  EXPECT_FALSE(ev.wait(50ms));
  const auto waited = Clock::now() - t0;
  EXPECT_GE(waited, 50ms);
  EXPECT_LT(waited, 5s);
  EXPECT_FALSE(ev.wait(-1s));
}

TEST(Event, AKilledWaiterDoesNotBlockSetOrOtherWaiters) {
  Event ev;
  TestPipe waiting;
  Process victim([ev, w = waiting.w]() mutable {
    write_byte(w);
    (void)ev.wait();
    ::_exit(3);
  });
  victim.start();
  ASSERT_EQ(read_byte(waiting.r), 'x');
  victim.kill();
  victim.join();
  EXPECT_EQ(victim.exitcode(), -SIGKILL);

  std::thread setter([&] { ev.set(); });
  setter.join();  // returned: set() did not block on the dead waiter
  EXPECT_TRUE(ev.wait(5s));
  ev.clear();
  Process other([ev]() mutable { ::_exit(ev.wait(10s) ? 0 : 1); });
  other.start();
  ev.set();
  other.join();
  EXPECT_EQ(other.exitcode(), 0);
}

TEST(Event, SignalStormNeitherShortensNorBreaksATimedWait) {
  Event ev;
  const int hits_before = SignalStorm::hits();
  bool woke = true;
  Clock::duration waited{};
  {
    SignalStorm storm;
    const auto t0 = Clock::now();
    woke = ev.wait(300ms);
    waited = Clock::now() - t0;
  }
  EXPECT_FALSE(woke);
  EXPECT_GE(waited, 300ms);
  EXPECT_GT(SignalStorm::hits(), hits_before);
}

}  // namespace
