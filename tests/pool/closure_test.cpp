// Closures as Pool tasks, under every start method: a closure whose captures are transferable by
// value travels with the call (trivially copyable captures as bytes, a class with serialize()
// through the codec), on the packed fast path, the general path, and through the fragments of a
// chunk larger than the ring.
#include <gtest/gtest.h>

#include <array>
#include <numeric>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "mproc/mproc.hpp"

namespace {

using mproc::Pool;
using mproc::PoolOptions;
using mproc::StartMethod;

class PoolClosure : public testing::TestWithParam<StartMethod> {
 protected:
  [[nodiscard]] PoolOptions opts(unsigned n = 2) const {
    return PoolOptions{.processes = n, .start_method = GetParam()};
  }
};

std::vector<int> iota(int n) {
  std::vector<int> v(static_cast<std::size_t>(n));
  std::iota(v.begin(), v.end(), 0);
  return v;
}

TEST_P(PoolClosure, ValueCapturesOnThePackedPath) {
  Pool pool(opts());
  const int k = 7;
  const double offset = 0.5;
  const auto out = pool.map([k, offset](int x) { return x * k + offset; }, iota(10'000));
  ASSERT_EQ(out.size(), 10'000u);
  for (int i = 0; i < 10'000; ++i) ASSERT_EQ(out[static_cast<std::size_t>(i)], i * 7 + 0.5);
}

TEST_P(PoolClosure, EachCallCarriesItsOwnCaptures) {
  Pool pool(opts());
  for (int k = 1; k <= 5; ++k) {
    const auto out = pool.map([k](int x) { return x + k * 1000; }, iota(100));
    for (int i = 0; i < 100; ++i) ASSERT_EQ(out[static_cast<std::size_t>(i)], i + k * 1000);
  }
}

TEST_P(PoolClosure, EveryKindOfCall) {
  Pool pool(opts());
  const int k = 3;
  auto times = [k](int x) { return x * k; };
  EXPECT_EQ(pool.apply(times, 5), 15);
  EXPECT_EQ(pool.apply_async(times, 6).get(), 18);
  EXPECT_EQ(pool.map_async(times, iota(4)).get(), (std::vector<int>{0, 3, 6, 9}));
  const auto tried = pool.try_map(times, iota(3));
  ASSERT_EQ(tried.size(), 3u);
  EXPECT_EQ(tried[2].value(), 6);
  std::vector<std::pair<int, int>> pairs{{1, 2}, {3, 4}};
  EXPECT_EQ(pool.starmap([k](int a, int b) { return (a + b) * k; }, pairs),
            (std::vector<int>{9, 21}));
  std::vector<int> seen;
  for (int v : pool.imap(times, iota(50))) seen.push_back(v);
  ASSERT_EQ(seen.size(), 50u);
  EXPECT_EQ(seen[49], 147);
  int sum = 0;
  for (int v : pool.imap_unordered(times, iota(50))) sum += v;
  EXPECT_EQ(sum, 3 * 49 * 50 / 2);
}

// A class with serialize(): its std::string travels through the codec.
struct Greeter {
  std::string greeting;
  std::string operator()(const std::string& name) const { return greeting + ", " + name; }
  template <class Ar>
  void serialize(Ar& ar) {
    ar(greeting);
  }
};

TEST_P(PoolClosure, ASerializableFunctionObject) {
  Pool pool(opts());
  const auto out =
      pool.map(Greeter{"hello"}, std::vector<std::string>{"ada", "alan", "grace"});
  EXPECT_EQ(out, (std::vector<std::string>{"hello, ada", "hello, alan", "hello, grace"}));
  EXPECT_EQ(pool.apply(Greeter{"bye"}, std::string("bob")), "bye, bob");
}

// State larger than the ring's largest record: every chunk goes through in fragments.
struct Table {
  std::vector<int> values;
  int operator()(int i) const { return values[static_cast<std::size_t>(i)]; }
  template <class Ar>
  void serialize(Ar& ar) {
    ar(values);
  }
};

TEST_P(PoolClosure, StateLargerThanTheRingTravelsInPieces) {
  Pool pool(opts());
  Table t;
  t.values.resize(2'000'000);  // 8 MB
  for (std::size_t i = 0; i < t.values.size(); ++i) t.values[i] = static_cast<int>(i * 3);
  const std::vector<int> in{0, 1, 999'999, 1'999'999};
  EXPECT_EQ(pool.map(t, in, 1), (std::vector<int>{0, 3, 2'999'997, 5'999'997}));
}

TEST_P(PoolClosure, AThrowingClosureIsARemoteError) {
  Pool pool(opts(1));
  const int bad = 4;
  const auto out = pool.try_map(
      [bad](int x) {
        if (x == bad) throw std::runtime_error("four");
        return x;
      },
      iota(6));
  ASSERT_EQ(out.size(), 6u);
  EXPECT_FALSE(out[4].ok());
  EXPECT_THROW(std::rethrow_exception(out[4].error()), mproc::RemoteError);
  EXPECT_EQ(out[5].value(), 5);
}

INSTANTIATE_TEST_SUITE_P(StartMethods, PoolClosure,
                         testing::Values(StartMethod::fork, StartMethod::forkserver,
                                         StartMethod::spawn),
                         [](const testing::TestParamInfo<StartMethod>& info) {
                           return std::string(mproc::to_string(info.param));
                         });

}  // namespace
