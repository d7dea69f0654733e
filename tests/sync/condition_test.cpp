#include "mproc/condition.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <mutex>
#include <thread>

#include "mproc/error.hpp"
#include "mproc/process.hpp"
#include "process/test_pipe.hpp"
#include "sync/sync_test_util.hpp"

namespace {

using mproc::Condition;
using mproc::Process;
using mproc::test::read_byte;
using mproc::test::SharedInt;
using mproc::test::SignalStorm;
using mproc::test::TestPipe;
using mproc::test::write_byte;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

TEST(Condition, AChildsNotificationsWakeTheWaitingParent) {
  Condition cv;
  SharedInt counter;
  constexpr int kItems = 200;
  Process producer([cv, &counter]() mutable {
    for (int i = 0; i < kItems; ++i) {
      {
        std::lock_guard g(cv);
        counter.increment();
      }
      cv.notify();
    }
  });
  producer.start();
  {
    std::unique_lock g(cv);
    EXPECT_TRUE(cv.wait_for([&] { return counter.get() == kItems; }, 10s));
  }
  producer.join();
  EXPECT_EQ(producer.exitcode(), 0);
}

TEST(Condition, NotifyAllWakesEveryWaitingChild) {
  Condition cv;
  SharedInt flag;
  TestPipe waiting;
  std::vector<Process> children;
  for (int i = 0; i < 3; ++i) {
    children.emplace_back([cv, &flag, w = waiting.w]() mutable {
      std::unique_lock g(cv);
      write_byte(w);  // under the lock: the parent's change comes after our wait begins
      const bool ok = cv.wait_for([&] { return flag.get() == 1; }, 10s);
      g.unlock();  // dying with it held would hand the next waiter OwnerDied
      ::_exit(ok ? 0 : 1);
    });
    children.back().start();
  }
  for (int i = 0; i < 3; ++i) ASSERT_EQ(read_byte(waiting.r), 'x');
  {
    std::lock_guard g(cv);
    flag.increment();
  }
  cv.notify_all();
  for (auto& c : children) {
    c.join();
    EXPECT_EQ(c.exitcode(), 0);
  }
}

TEST(Condition, TimedWaitReturnsFalseInTimeHoldingTheLockAgain) {
  Condition cv;
  cv.acquire();
  const auto t0 = Clock::now();
  EXPECT_FALSE(cv.wait(50ms));
  const auto waited = Clock::now() - t0;
  EXPECT_GE(waited, 50ms);
  EXPECT_LT(waited, 5s);
  std::thread([&] { EXPECT_FALSE(cv.try_lock()); }).join();
  EXPECT_FALSE(cv.wait_for([] { return false; }, 20ms));
  cv.release();
}

TEST(Condition, WaitWithoutTheLockThrows) {
  if (MPROC_TSAN) GTEST_SKIP() << "deliberate misuse, reported by ThreadSanitizer";
  Condition cv;
  EXPECT_THROW((void)cv.wait(10ms), mproc::Error);
  std::thread([&] {
    EXPECT_TRUE(cv.try_lock());
    cv.release();
  }).join();
}

TEST(Condition, AKilledWaiterDoesNotBlockNotifyOrOtherWaiters) {
  Condition cv;
  TestPipe waiting;
  Process victim([cv, w = waiting.w]() mutable {
    std::unique_lock g(cv);
    write_byte(w);
    cv.wait();
    ::_exit(3);
  });
  victim.start();
  ASSERT_EQ(read_byte(waiting.r), 'x');
  {
    std::lock_guard g(cv);  // taken: the victim sleeps inside wait(), without the lock
  }
  victim.kill();
  victim.join();
  cv.notify_all();
  cv.notify();
  SharedInt flag;
  Process other([cv, &flag, w = waiting.w]() mutable {
    std::unique_lock g(cv);
    write_byte(w);
    const bool ok = cv.wait_for([&] { return flag.get() == 1; }, 10s);
    g.unlock();
    ::_exit(ok ? 0 : 1);
  });
  other.start();
  ASSERT_EQ(read_byte(waiting.r), 'x');
  {
    std::lock_guard g(cv);
    flag.increment();
  }
  cv.notify();
  other.join();
  EXPECT_EQ(other.exitcode(), 0);
}

TEST(Condition, AWaiterGetsOwnerDiedWhenTheNotifierDiesHoldingTheLock) {
  Condition cv;
  cv.acquire();
  Process notifier([cv]() mutable {
    cv.acquire();
    cv.notify_all();
    ::_exit(0);  // dies holding the lock
  });
  notifier.start();
  EXPECT_THROW((void)cv.wait(10s), mproc::OwnerDied);
  // We hold it again.
  std::thread([&] { EXPECT_FALSE(cv.try_lock()); }).join();
  cv.release();
  notifier.join();
}

TEST(Condition, WorksWithAnRLockHeldOnce) {
  mproc::RLock lock;
  Condition cv(lock);
  std::lock_guard g(cv);
  EXPECT_FALSE(cv.wait(5ms));
  EXPECT_TRUE(lock.try_lock());  // the same lock, held by us
  lock.release();
}

TEST(Condition, SignalStormNeitherShortensNorBreaksATimedWait) {
  Condition cv;
  std::unique_lock g(cv);
  const int hits_before = SignalStorm::hits();
  bool woke = true;
  Clock::duration waited{};
  {
    SignalStorm storm;
    const auto t0 = Clock::now();
    woke = cv.wait_for([] { return false; }, 300ms);
    waited = Clock::now() - t0;
  }
  EXPECT_FALSE(woke);
  EXPECT_GE(waited, 300ms);
  EXPECT_GT(SignalStorm::hits(), hits_before);
}

}  // namespace
