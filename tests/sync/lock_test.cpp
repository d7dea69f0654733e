#include "mproc/lock.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "mproc/error.hpp"
#include "mproc/event.hpp"
#include "mproc/pool.hpp"
#include "mproc/process.hpp"
#include "process/test_pipe.hpp"
#include "sync/sync_test_util.hpp"

namespace {

using mproc::Lock;
using mproc::OwnerDied;
using mproc::Process;
using mproc::RLock;
using mproc::test::read_byte;
using mproc::test::SharedInt;
using mproc::test::SignalStorm;
using mproc::test::TestPipe;
using mproc::test::write_byte;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr int kIncrements = 10'000;

TEST(Lock, MutuallyExcludesTwoProcesses) {
  Lock lock;
  SharedInt counter;
  mproc::Event go;  // both children start counting together, so they really contend
  auto work = [lock, go, &counter]() mutable {
    (void)go.wait(10s);
    for (int i = 0; i < kIncrements; ++i) {
      std::lock_guard guard(lock);
      counter.increment();
    }
  };
  Process a(work), b(work);
  a.start();
  b.start();
  go.set();
  a.join();
  b.join();
  EXPECT_EQ(a.exitcode(), 0);
  EXPECT_EQ(b.exitcode(), 0);
  EXPECT_EQ(counter.get(), 2 * kIncrements);
}

// Pool tasks are captureless: they reach the lock and the counter, made before the pool forks its
// workers, through globals.
std::optional<Lock> g_lock;
volatile int* g_counter = nullptr;

TEST(Lock, MutuallyExcludesPoolWorkers) {
  SharedInt counter;
  g_lock.emplace();
  g_counter = counter.raw();
  std::vector<int> chunks(20, kIncrements / 10);  // 20 tasks of 1000: 2 x 10k in total
  {
    mproc::Pool pool(2);
    auto pids = pool.map(
        [](int n) {
          for (int i = 0; i < n; ++i) {
            std::lock_guard guard(*g_lock);
            const int v = *g_counter;
            mproc::test::dawdle();
            *g_counter = v + 1;
          }
          return static_cast<int>(::getpid());
        },
        chunks, 1);
    EXPECT_EQ(pids.size(), chunks.size());
  }
  EXPECT_EQ(counter.get(), 2 * kIncrements);
  g_lock.reset();
  g_counter = nullptr;
}

TEST(Lock, OwnerDiedGoesToTheNextAcquirerWhoThenHoldsIt) {
  Lock lock;
  Process child([lock]() mutable {
    lock.acquire();
    ::_exit(0);  // dies holding it
  });
  child.start();
  child.join();
  ASSERT_EQ(child.exitcode(), 0);

  EXPECT_THROW(lock.acquire(), OwnerDied);
  // The parent holds it now: another thread cannot take it.
  std::thread([&] { EXPECT_FALSE(lock.try_lock()); }).join();
  lock.release();
  // Consistent again: an ordinary lock from here on.
  std::thread([&] {
    EXPECT_TRUE(lock.acquire(5s));
    lock.release();
  }).join();
  EXPECT_TRUE(lock.try_lock());
  lock.release();
}

TEST(Lock, OwnerDiedWhenTheHoldingThreadEnds) {
  Lock lock;
  std::thread([&] { lock.acquire(); }).join();  // ends holding it
  EXPECT_THROW(lock.acquire(), OwnerDied);
  lock.release();
}

TEST(Lock, OwnerDiedIsReportedByTimedAcquireAndTryLock) {
  for (int timed = 0; timed < 2; ++timed) {
    Lock lock;
    Process child([lock]() mutable {
      lock.acquire();
      ::_exit(0);
    });
    child.start();
    child.join();
    if (timed) {
      EXPECT_THROW((void)lock.acquire(1s), OwnerDied);
    } else {
      EXPECT_THROW((void)lock.try_lock(), OwnerDied);
    }
    lock.release();
  }
}

// A child that takes the lock, says so on `held`, and releases it when `go` is written or closed.
Process holder(Lock lock, TestPipe& held, TestPipe& go) {
  return Process([lock, hw = held.w, gr = go.r]() mutable {
    lock.acquire();
    write_byte(hw);
    (void)read_byte(gr);
    lock.release();
  });
}

TEST(Lock, TimedAcquireReturnsFalseInTimeWhileAnotherProcessHolds) {
  Lock lock;
  TestPipe held, go;
  Process child = holder(lock, held, go);
  child.start();
  ASSERT_EQ(read_byte(held.r), 'x');

  const auto t0 = Clock::now();
  EXPECT_FALSE(lock.acquire(100ms));
  const auto waited = Clock::now() - t0;
  EXPECT_GE(waited, 100ms);
  EXPECT_LT(waited, 5s);
  EXPECT_FALSE(lock.try_lock());
  EXPECT_FALSE(lock.acquire(0ms));
  EXPECT_FALSE(lock.acquire(-5s));

  write_byte(go.w);
  EXPECT_TRUE(lock.acquire(10s));  // woken by the child's release
  lock.release();
  child.join();
  EXPECT_EQ(child.exitcode(), 0);
}

TEST(Lock, SignalStormNeitherShortensNorBreaksATimedAcquire) {
  Lock lock;
  TestPipe held, go;
  Process child = holder(lock, held, go);
  child.start();
  ASSERT_EQ(read_byte(held.r), 'x');
  const int hits_before = SignalStorm::hits();
  bool acquired = true;
  Clock::duration waited{};
  {
    SignalStorm storm;
    const auto t0 = Clock::now();
    acquired = lock.acquire(300ms);
    waited = Clock::now() - t0;
  }
  EXPECT_FALSE(acquired);
  EXPECT_GE(waited, 300ms);
  EXPECT_GT(SignalStorm::hits(), hits_before);
  write_byte(go.w);
  child.join();
}

TEST(Lock, ReleaseByANonHolderThrowsAndChangesNothing) {
  if (MPROC_TSAN) GTEST_SKIP() << "deliberate misuse, reported by ThreadSanitizer";
  Lock lock;
  EXPECT_THROW(lock.release(), mproc::Error);  // not held at all
  lock.acquire();
  std::thread([&] { EXPECT_THROW(lock.release(), mproc::Error); }).join();
  std::thread([&] { EXPECT_FALSE(lock.try_lock()); }).join();
  lock.release();
}

TEST(Lock, CopiesAreTheSameLockAndWorkWithStdLockGuard) {
  Lock a;
  Lock b = a;
  {
    std::lock_guard guard(a);
    std::thread([&] { EXPECT_FALSE(b.try_lock()); }).join();
  }
  std::unique_lock ul(b, std::try_to_lock);
  EXPECT_TRUE(ul.owns_lock());
}

TEST(RLock, TheHolderMayAcquireAgainAndEachAcquireNeedsItsRelease) {
  RLock lock;
  lock.acquire();
  EXPECT_TRUE(lock.try_lock());
  EXPECT_TRUE(lock.acquire(1s));
  std::thread([&] { EXPECT_FALSE(lock.acquire(10ms)); }).join();
  lock.release();
  lock.release();
  std::thread([&] { EXPECT_FALSE(lock.try_lock()); }).join();
  lock.release();
  if (!MPROC_TSAN) {
    EXPECT_THROW(lock.release(), mproc::Error);  // one release too many
  }
  std::thread([&] {
    EXPECT_TRUE(lock.try_lock());
    lock.release();
  }).join();
}

TEST(RLock, OwnerDiedAfterRecursiveAcquires) {
  RLock lock;
  Process child([lock]() mutable {
    lock.acquire();
    lock.acquire();
    ::_exit(0);
  });
  child.start();
  child.join();
  EXPECT_THROW(lock.acquire(), OwnerDied);
  lock.release();  // one release: the dead holder's count is gone
  std::thread([&] {
    EXPECT_TRUE(lock.try_lock());
    lock.release();
  }).join();
}

TEST(RLock, MutuallyExcludesTwoProcesses) {
  RLock lock;
  SharedInt counter;
  mproc::Event go;
  auto work = [lock, go, &counter]() mutable {
    (void)go.wait(10s);
    for (int i = 0; i < kIncrements; ++i) {
      std::lock_guard outer(lock);
      std::lock_guard inner(lock);
      counter.increment();
    }
  };
  Process a(work), b(work);
  a.start();
  b.start();
  go.set();
  a.join();
  b.join();
  EXPECT_EQ(counter.get(), 2 * kIncrements);
}

}  // namespace
