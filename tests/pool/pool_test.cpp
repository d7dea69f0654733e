// Pool: the calls and their results (failure semantics are in pool_failure_test.cpp).
#include <gtest/gtest.h>

#include <list>
#include <numeric>
#include <ranges>
#include <string>
#include <vector>

#include "mproc/mproc.hpp"

namespace {

int twice(int x) { return 2 * x; }
int add(int a, int b) { return a + b; }
std::string shout(const std::string& s) { return s + "!"; }
int pid_of(int) { return ::getpid(); }

TEST(Pool, MapKeepsInputOrder) {
  mproc::Pool pool(2);
  std::vector<int> in(1000);
  std::iota(in.begin(), in.end(), 0);
  auto out = pool.map(twice, in);
  ASSERT_EQ(out.size(), in.size());
  for (int i = 0; i < 1000; ++i) EXPECT_EQ(out[i], 2 * i);
}

TEST(Pool, MapRunsInOtherProcesses) {
  mproc::Pool pool(2);
  auto pids = pool.map(pid_of, std::views::iota(0, 50));
  for (int p : pids) EXPECT_NE(p, ::getpid());
}

TEST(Pool, MapAcceptsAnyInputRange) {
  mproc::Pool pool(2);
  std::list<std::string> words{"a", "bb", "ccc"};
  EXPECT_EQ(pool.map(shout, words), (std::vector<std::string>{"a!", "bb!", "ccc!"}));
  EXPECT_EQ(pool.map(twice, std::views::iota(0, 3)), (std::vector<int>{0, 2, 4}));
  EXPECT_TRUE(pool.map(twice, std::vector<int>{}).empty());
}

TEST(Pool, CaptureLessLambda) {
  mproc::Pool pool(2);
  auto out = pool.map([](int x) { return x * x; }, std::vector<int>{1, 2, 3});
  EXPECT_EQ(out, (std::vector<int>{1, 4, 9}));
}

TEST(Pool, StarmapAndApply) {
  mproc::Pool pool(2);
  std::vector<std::tuple<int, int>> pairs{{1, 2}, {3, 4}};
  EXPECT_EQ(pool.starmap(add, pairs), (std::vector<int>{3, 7}));
  EXPECT_EQ(pool.apply(add, 20, 22), 42);
  auto f = pool.apply_async(shout, std::string("hi"));
  EXPECT_EQ(f.get(), "hi!");
}

TEST(Pool, MapAsync) {
  mproc::Pool pool(2);
  auto f = pool.map_async(twice, std::vector<int>{1, 2, 3});
  f.wait();
  EXPECT_TRUE(f.ready());
  EXPECT_EQ(f.get(), (std::vector<int>{2, 4, 6}));
}

TEST(Pool, ImapIsOrderedAndLazy) {
  mproc::Pool pool(2);
  std::vector<int> got;
  for (int v : pool.imap(twice, std::views::iota(0))) {  // endless input
    got.push_back(v);
    if (got.size() == 100) break;
  }
  ASSERT_EQ(got.size(), 100u);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(got[i], 2 * i);
}

TEST(Pool, ImapUnorderedYieldsEverything) {
  mproc::Pool pool(2);
  std::vector<int> got;
  for (int v : pool.imap_unordered(twice, std::views::iota(0, 500))) got.push_back(v);
  std::sort(got.begin(), got.end());
  ASSERT_EQ(got.size(), 500u);
  for (int i = 0; i < 500; ++i) EXPECT_EQ(got[i], 2 * i);
}

TEST(Pool, TryMapGivesEveryValue) {
  mproc::Pool pool(2);
  auto rs = pool.try_map(twice, std::vector<int>{5, 6});
  ASSERT_EQ(rs.size(), 2u);
  EXPECT_TRUE(rs[0].ok());
  EXPECT_EQ(rs[1].value(), 12);
}

TEST(Pool, LargeArgumentsAndResults) {
  mproc::Pool pool(2);
  std::string big(9 << 20, 'x');  // bigger than a ring record: sent in pieces
  auto out = pool.apply(shout, big);
  EXPECT_EQ(out.size(), big.size() + 1);
  EXPECT_EQ(out.back(), '!');
}

TEST(Pool, SubmitAfterCloseIsPoolClosed) {
  mproc::Pool pool(1);
  pool.close();
  EXPECT_THROW(pool.apply(twice, 1), mproc::PoolClosed);
  pool.join();
}

}  // namespace
