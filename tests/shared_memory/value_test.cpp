// Value<T>: one T in shared memory, its recursive robust lock, and OwnerDied.
#include "mproc/value.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <mutex>
#include <thread>

#include "mproc/error.hpp"
#include "mproc/process.hpp"

namespace {

struct Point {
  int x = 0;
  double y = 0;
};

bool other_thread_can_lock(mproc::Value<int>::lock_type& lock) {
  bool got = true;
  std::thread t([&] {
    got = lock.try_lock();
    if (got) lock.unlock();
  });
  t.join();
  return got;
}

TEST(Value, LoadReturnsTheInitialValueAndStoreReplacesIt) {
  mproc::Value<int> v(7);
  EXPECT_EQ(v.load(), 7);
  v.store(-3);
  EXPECT_EQ(v.load(), -3);
  EXPECT_EQ(v.get_obj(), -3);
  EXPECT_TRUE(other_thread_can_lock(v.get_lock()));  // load/store released it

  mproc::Value<Point> p;  // value-initialised
  EXPECT_EQ(p.load().x, 0);
  p.store({1, 2.5});
  EXPECT_EQ(p.load().y, 2.5);
}

TEST(Value, CopiesShareOneValue) {
  mproc::Value<long> a(1);
  mproc::Value<long> b = a;
  b.store(99);
  EXPECT_EQ(a.load(), 99);
  EXPECT_EQ(&a.get_lock(), &b.get_lock());
}

TEST(Value, ChildStoreIsSeenByTheParent) {
  mproc::Value<long> v(0);
  mproc::Process p([v] { v.store(v.load() + 41); });
  p.start();
  p.join();
  ASSERT_EQ(p.exitcode(), 0);
  EXPECT_EQ(v.load(), 41);
}

TEST(Value, LockIsRecursiveSoTheHolderMayLoadAndStore) {
  mproc::Value<int> v(1);
  {
    std::lock_guard guard(v.get_lock());
    v.store(v.load() + 1);
    EXPECT_TRUE(v.get_lock().try_lock());  // recursive
    v.get_lock().unlock();
  }
  EXPECT_EQ(v.load(), 2);
}

TEST(Value, HolderDeathGivesOwnerDiedAndTheLockToTheNextAcquirer) {
  mproc::Value<int> v(5);
  mproc::Process p([v] {
    v.get_lock().lock();
    v.get_obj() = 6;  // half-done work, then death while holding the lock
    ::_exit(0);
  });
  p.start();
  p.join();
  ASSERT_EQ(p.exitcode(), 0);

  EXPECT_THROW(v.get_lock().lock(), mproc::OwnerDied);
  // The caller now holds it: another thread cannot take it.
  EXPECT_FALSE(other_thread_can_lock(v.get_lock()));
  {
    std::lock_guard adopted(v.get_lock(), std::adopt_lock);
    EXPECT_EQ(v.get_obj(), 6);
    v.get_obj() = 5;  // repaired
  }
  EXPECT_TRUE(other_thread_can_lock(v.get_lock()));
  EXPECT_EQ(v.load(), 5);  // consistent again: no further OwnerDied
}

TEST(Value, LoadAfterHolderDeathThrowsOwnerDiedWithTheLockReleased) {
  mproc::Value<int> v(5);
  mproc::Process p([v] {
    v.get_lock().lock();
    ::_exit(0);
  });
  p.start();
  p.join();
  ASSERT_EQ(p.exitcode(), 0);
  EXPECT_THROW((void)v.load(), mproc::OwnerDied);
  EXPECT_TRUE(other_thread_can_lock(v.get_lock()));
  EXPECT_EQ(v.load(), 5);
}

}  // namespace
