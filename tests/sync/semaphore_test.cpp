#include "mproc/semaphore.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <limits>
#include <mutex>
#include <thread>

#include "mproc/error.hpp"
#include "mproc/event.hpp"
#include "mproc/process.hpp"
#include "process/test_pipe.hpp"
#include "sync/sync_test_util.hpp"

namespace {

using mproc::BoundedSemaphore;
using mproc::Process;
using mproc::Semaphore;
using mproc::test::read_byte;
using mproc::test::SharedInt;
using mproc::test::SignalStorm;
using mproc::test::TestPipe;
using mproc::test::write_byte;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

TEST(Semaphore, CountsAcquiresAndReleases) {
  Semaphore s(2);
  EXPECT_EQ(s.get_value(), 2u);
  EXPECT_TRUE(s.try_acquire());
  EXPECT_TRUE(s.acquire(0ms));
  EXPECT_FALSE(s.try_acquire());
  EXPECT_FALSE(s.acquire(10ms));
  EXPECT_EQ(s.get_value(), 0u);
  s.release(3);  // an unbounded semaphore may pass its initial value
  EXPECT_EQ(s.get_value(), 3u);
  s.acquire();
  Semaphore copy = s;
  EXPECT_EQ(copy.get_value(), 2u);
}

TEST(Semaphore, ReleaseInAChildWakesTheWaitingParent) {
  Semaphore s(0);
  TestPipe go;
  Process child([s, r = go.r]() mutable {
    (void)read_byte(r);
    s.release(3);
  });
  child.start();
  write_byte(go.w);
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(s.acquire(10s));
  EXPECT_FALSE(s.acquire(20ms));
  child.join();
  EXPECT_EQ(child.exitcode(), 0);
}

TEST(Semaphore, LimitsHowManyProcessesAreInside) {
  Semaphore s(1);  // a binary semaphore as a lock: exact count
  SharedInt counter;
  mproc::Event go;
  auto work = [s, go, &counter]() mutable {
    (void)go.wait(10s);
    for (int i = 0; i < 10'000; ++i) {
      std::lock_guard guard(s);
      counter.increment();
    }
  };
  Process a(work), b(work);
  a.start();
  b.start();
  go.set();
  a.join();
  b.join();
  EXPECT_EQ(counter.get(), 20'000);
  EXPECT_EQ(s.get_value(), 1u);
}

TEST(Semaphore, AKilledWaiterDoesNotStrandAUnit) {
  Semaphore s(0);
  TestPipe waiting;
  auto waiter = [s, w = waiting.w]() mutable {
    write_byte(w);
    ::_exit(s.acquire(10s) ? 0 : 1);
  };
  Process victim(waiter), survivor(waiter);
  victim.start();
  survivor.start();
  ASSERT_EQ(read_byte(waiting.r), 'x');
  ASSERT_EQ(read_byte(waiting.r), 'x');
  victim.kill();
  victim.join();
  s.release();
  survivor.join();
  EXPECT_EQ(survivor.exitcode(), 0);
  EXPECT_EQ(s.get_value(), 0u);
}

TEST(Semaphore, ReleasePastTheCountLimitThrows) {
  Semaphore s(std::numeric_limits<std::uint32_t>::max());
  EXPECT_THROW(s.release(), mproc::Error);
  EXPECT_EQ(s.get_value(), std::numeric_limits<std::uint32_t>::max());
}

TEST(BoundedSemaphore, ReleasePastItsInitialValueThrowsAndChangesNothing) {
  BoundedSemaphore s(2);
  EXPECT_THROW(s.release(), mproc::Error);
  EXPECT_TRUE(s.try_acquire());
  EXPECT_THROW(s.release(2), mproc::Error);
  EXPECT_EQ(s.get_value(), 1u);
  s.release();
  EXPECT_EQ(s.get_value(), 2u);
  EXPECT_THROW(s.release(), mproc::Error);
}

TEST(Semaphore, SignalStormNeitherShortensNorBreaksATimedAcquire) {
  Semaphore s(0);
  const int hits_before = SignalStorm::hits();
  bool acquired = true;
  Clock::duration waited{};
  {
    SignalStorm storm;
    const auto t0 = Clock::now();
    acquired = s.acquire(300ms);
    waited = Clock::now() - t0;
  }
  EXPECT_FALSE(acquired);
  EXPECT_GE(waited, 300ms);
  EXPECT_GT(SignalStorm::hits(), hits_before);
}

}  // namespace
