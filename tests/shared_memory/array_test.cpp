// Array<T>: n Ts in shared memory, seen by children and Pool workers, guarded by get_lock().
#include "mproc/array.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <iterator>
#include <mutex>
#include <numeric>
#include <vector>

#include "mproc/pool.hpp"
#include "mproc/process.hpp"

namespace {

TEST(Array, ElementsAreValueInitialisedOrFilled) {
  mproc::Array<int> a(10);
  EXPECT_EQ(a.size(), 10u);
  EXPECT_FALSE(a.empty());
  EXPECT_EQ(std::distance(a.begin(), a.end()), 10);
  EXPECT_EQ(a.span().size(), 10u);
  EXPECT_EQ(a.span().data(), a.data());
  EXPECT_TRUE(std::all_of(a.begin(), a.end(), [](int x) { return x == 0; }));

  mproc::Array<double> b(3, 1.5);
  EXPECT_EQ(std::accumulate(b.begin(), b.end(), 0.0), 4.5);

  mproc::Array<int> empty(0);
  EXPECT_TRUE(empty.empty());
  EXPECT_EQ(empty.begin(), empty.end());
}

TEST(Array, DataIsAlignedForT) {
  struct alignas(128) Wide {
    char c;
  };
  mproc::Array<Wide> a(2);
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(a.data()) % 128, 0u);
}

TEST(Array, ChildWritesAreSeenByTheParent) {
  mproc::Array<int> a(100);
  mproc::Process p([a] {
    for (std::size_t i = 0; i < a.size(); ++i) a[i] = static_cast<int>(i * i);
  });
  p.start();
  p.join();
  ASSERT_EQ(p.exitcode(), 0);
  for (std::size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i], static_cast<int>(i * i));
}

// Pool tasks are plain functions: they find the Array (made before the workers were forked)
// through this pointer.
const mproc::Array<long>* g_counter = nullptr;

int increment_1000_times(int) {
  for (int i = 0; i < 1000; ++i) {
    std::lock_guard guard(g_counter->get_lock());
    const long seen = (*g_counter)[0];  // a read-modify-write that would lose updates unlocked
    (*g_counter)[0] = seen + 1;
  }
  return ::getpid();
}

TEST(Array, PoolWorkersIncrementingUnderTheLockLoseNoUpdate) {
  mproc::Array<long> counter(1);
  g_counter = &counter;
  {
    mproc::Pool pool(2);
    auto pids = pool.map(increment_1000_times, std::vector<int>{0, 1}, 1);
    ASSERT_EQ(pids.size(), 2u);
    for (int pid : pids) EXPECT_NE(pid, ::getpid());  // ran in workers
  }
  g_counter = nullptr;
  EXPECT_EQ(counter[0], 2000);
}

}  // namespace
