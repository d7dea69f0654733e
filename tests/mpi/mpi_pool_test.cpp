// mproc::mpi::Pool under mpirun: rank 0 runs these tests against one pool (one per program:
// MPI cannot be initialised twice); the other ranks serve it. Run by CTest as
// `mpirun -np 4 mpi_pool_test` (tests/mpi/CMakeLists.txt).
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <mproc/mpi/pool.hpp>
#include <numeric>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

namespace {

mproc::mpi::Pool* g_pool = nullptr;
unsigned g_per_rank = 1;
int g_timeout_ms = 0;  // --task-timeout-ms=N (the pool's task_timeout)

std::int64_t square(int x) { return std::int64_t{x} * x; }

int crash_on_seven(int x) {
  if (x == 7) std::raise(SIGSEGV);
  return x + 1;
}

int throw_on_three(int x) {
  if (x == 3) throw std::invalid_argument("three is not allowed");
  return x;
}

// The pid of the worker rank that ran the item (the local worker's parent).
int rank_pid(int) { return static_cast<int>(::getppid()); }

std::size_t length(std::string s) { return s.size(); }

std::string repeat(std::string s, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += s;
  return out;
}

std::vector<std::uint8_t> mebibyte(int seed) {
  return std::vector<std::uint8_t>(std::size_t{1} << 20, static_cast<std::uint8_t>(seed));
}

struct Point {
  double x, y;
};
double norm2(Point p) { return p.x * p.x + p.y * p.y; }

struct Record {
  std::string name;
  std::vector<int> values;
  template <class Ar>
  void serialize(Ar& ar) {
    ar(name, values);
  }
};
Record summarise(Record r) {
  const int sum = std::accumulate(r.values.begin(), r.values.end(), 0);
  return Record{r.name + "!", {sum}};
}

void nothing(int) {}

int hang_on_two(int x) {
  if (x == 2) {
    for (;;) ::pause();
  }
  return x;
}

mproc::mpi::Pool& pool() { return *g_pool; }

std::vector<int> iota_vec(int n) {
  std::vector<int> v(static_cast<std::size_t>(n));
  std::iota(v.begin(), v.end(), 0);
  return v;
}

TEST(MpiPool, ReportsItsRanksAndProcesses) {
  EXPECT_EQ(pool().ranks() * g_per_rank, pool().processes());
  EXPECT_GE(pool().ranks(), 1u);
}

TEST(MpiPool, MapsTenThousandItemsInOrder) {
  const auto in = iota_vec(10'000);
  const std::vector<std::int64_t> out = pool().map(square, in);
  ASSERT_EQ(out.size(), in.size());
  for (std::size_t i = 0; i < in.size(); ++i) ASSERT_EQ(out[i], square(in[i])) << "item " << i;
}

TEST(MpiPool, EveryWorkerRankTakesPart) {
  const std::vector<int> pids = pool().map(rank_pid, iota_vec(1000));
  const std::set<int> distinct(pids.begin(), pids.end());
  EXPECT_EQ(distinct.size(), pool().ranks());
  EXPECT_EQ(distinct.count(static_cast<int>(::getpid())), 0u) << "rank 0 only drives";
}

TEST(MpiPool, MapsStringsAndUserTypes) {
  const std::vector<std::string> words{"", "a", "mpi", std::string(100'000, 'x')};
  EXPECT_EQ(pool().map(length, words), (std::vector<std::size_t>{0, 1, 3, 100'000}));
  const std::vector<Record> records{{"a", {1, 2, 3}}, {"b", {}}, {"c", {-5}}};
  const std::vector<Record> out = pool().map(summarise, records);
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].name, "a!");
  EXPECT_EQ(out[0].values, std::vector<int>{6});
  EXPECT_EQ(out[1].values, std::vector<int>{0});
  EXPECT_EQ(out[2].values, std::vector<int>{-5});
  const std::vector<double> norms = pool().map(norm2, std::vector<Point>{{3, 4}, {1, 0}});
  EXPECT_EQ(norms, (std::vector<double>{25, 1}));
}

TEST(MpiPool, MapsWithACapturelessLambdaAndAnExplicitChunksize) {
  const auto out = pool().map([](int x) { return x * 3; }, iota_vec(500), 7);
  ASSERT_EQ(out.size(), 500u);
  for (int i = 0; i < 500; ++i) ASSERT_EQ(out[static_cast<std::size_t>(i)], 3 * i);
}

TEST(MpiPool, LargeResultsCrossWithoutDeadlock) {
  // 1 MiB each way is past MPI's eager limit: sends and receives must not wait on each other.
  const auto out = pool().map(mebibyte, iota_vec(24));
  ASSERT_EQ(out.size(), 24u);
  for (int i = 0; i < 24; ++i) {
    ASSERT_EQ(out[static_cast<std::size_t>(i)].size(), std::size_t{1} << 20);
    ASSERT_EQ(out[static_cast<std::size_t>(i)][12345], static_cast<std::uint8_t>(i));
  }
}

TEST(MpiPool, StarmapUnpacksTuples) {
  const std::vector<std::tuple<std::string, int>> in{{"ab", 3}, {"x", 0}, {"", 5}};
  EXPECT_EQ(pool().starmap(repeat, in), (std::vector<std::string>{"ababab", "", ""}));
}

TEST(MpiPool, EmptyInputGivesEmptyResults) {
  const std::vector<int> none;
  EXPECT_TRUE(pool().map(square, none).empty());
  EXPECT_TRUE(pool().try_map(square, none).empty());
  EXPECT_TRUE(pool().map_async(square, none).get().empty());
  int seen = 0;
  for (auto v : pool().imap(square, none)) seen += static_cast<int>(v);
  EXPECT_EQ(seen, 0);
  pool().map(nothing, none);
}

TEST(MpiPool, VoidTasksRun) {
  pool().map(nothing, iota_vec(100));
  pool().apply(nothing, 1);
}

TEST(MpiPool, ACrashingItemIsWorkerCrashedForThatIndexOnly) {
  const auto results = pool().try_map(crash_on_seven, iota_vec(50));
  ASSERT_EQ(results.size(), 50u);
  for (int i = 0; i < 50; ++i) {
    const auto& r = results[static_cast<std::size_t>(i)];
    if (i == 7) {
      ASSERT_FALSE(r.ok());
      try {
        std::rethrow_exception(r.error());
      } catch (const mproc::WorkerCrashed& e) {
        EXPECT_EQ(e.index(), 7u);
        EXPECT_EQ(e.signal(), SIGSEGV);
        EXPECT_NE(std::string(e.what()).find("#7"), std::string::npos) << e.what();
      }
    } else {
      ASSERT_TRUE(r.ok()) << "item " << i;
      EXPECT_EQ(r.value(), i + 1);
    }
  }
  // The job lives on: the same pool keeps working.
  EXPECT_EQ(pool().map(square, iota_vec(10)).back(), 81);
}

TEST(MpiPool, MapRethrowsTheCrashWithItsIndex) {
  try {
    (void)pool().map(crash_on_seven, iota_vec(20));
    FAIL() << "map should have thrown";
  } catch (const mproc::WorkerCrashed& e) {
    EXPECT_EQ(e.index(), 7u);
  }
}

TEST(MpiPool, AnExceptionIsRemoteErrorWithTheRank) {
  try {
    (void)pool().map(throw_on_three, iota_vec(10));
    FAIL() << "map should have thrown";
  } catch (const mproc::RemoteError& e) {
    EXPECT_EQ(e.index(), 3u);
    ASSERT_TRUE(e.rank().has_value());
    EXPECT_GE(*e.rank(), 1);
    EXPECT_LE(*e.rank(), static_cast<int>(pool().ranks()));
    EXPECT_NE(e.type_name().find("invalid_argument"), std::string::npos) << e.type_name();
    EXPECT_EQ(e.remote_what(), "three is not allowed");
    EXPECT_NE(std::string(e.what()).find("on rank"), std::string::npos) << e.what();
  }
}

TEST(MpiPool, AHangingItemIsTaskTimeoutWithItsIndex) {
  if (g_timeout_ms == 0) GTEST_SKIP() << "run with --task-timeout-ms=N (tests/mpi/CMakeLists.txt)";
  const auto results = pool().try_map(hang_on_two, iota_vec(6));
  ASSERT_EQ(results.size(), 6u);
  for (int i = 0; i < 6; ++i) {
    const auto& r = results[static_cast<std::size_t>(i)];
    if (i != 2) {
      ASSERT_TRUE(r.ok()) << "item " << i;
      EXPECT_EQ(r.value(), i);
      continue;
    }
    ASSERT_FALSE(r.ok());
    try {
      std::rethrow_exception(r.error());
    } catch (const mproc::TaskTimeout& e) {
      EXPECT_EQ(e.index(), 2u);
      EXPECT_EQ(e.timeout(), std::chrono::milliseconds(g_timeout_ms));
    }
  }
}

TEST(MpiPool, ApplyAndTheFuturesWork) {
  EXPECT_EQ(pool().apply(repeat, std::string("ab"), 2), "abab");
  auto f = pool().apply_async(square, 12);
  auto g = pool().map_async(square, iota_vec(100));
  EXPECT_EQ(f.get(), 144);
  const auto all = g.get();
  ASSERT_EQ(all.size(), 100u);
  EXPECT_EQ(all[99], 99 * 99);
  auto h = pool().apply_async(throw_on_three, 3);
  h.wait();
  EXPECT_TRUE(h.ready());
  EXPECT_THROW(h.get(), mproc::RemoteError);
  auto k = pool().apply_async(square, 5);
  EXPECT_TRUE(k.wait_for(std::chrono::seconds(60)));
  EXPECT_EQ(k.get(), 25);
}

TEST(MpiPool, ImapYieldsInOrderAndImapUnorderedYieldsEveryResult) {
  std::vector<std::int64_t> ordered;
  for (auto v : pool().imap(square, iota_vec(5000))) ordered.push_back(v);
  ASSERT_EQ(ordered.size(), 5000u);
  for (int i = 0; i < 5000; ++i) ASSERT_EQ(ordered[static_cast<std::size_t>(i)], square(i));
  std::multiset<std::int64_t> unordered;
  for (auto v : pool().imap_unordered(square, iota_vec(5000))) unordered.insert(v);
  EXPECT_EQ(unordered, std::multiset<std::int64_t>(ordered.begin(), ordered.end()));
}

TEST(MpiPool, ImapOverAnEndlessRangeStopsWhereTheConsumerStops) {
  std::int64_t sum = 0;
  int taken = 0;
  for (auto v : pool().imap(square, std::views::iota(0))) {
    sum += v;
    if (++taken == 2000) break;
  }
  std::int64_t want = 0;
  for (int i = 0; i < 2000; ++i) want += square(i);
  EXPECT_EQ(sum, want);
}

TEST(MpiPool, ImapRethrowsAFailedItemAndCarriesOn) {
  std::vector<int> got;
  auto range = pool().imap(throw_on_three, iota_vec(6));
  auto it = range.begin();
  while (true) {
    try {
      if (it == range.end()) break;
      got.push_back(*it);
      ++it;
    } catch (const mproc::RemoteError& e) {
      EXPECT_EQ(e.index(), 3u);
      ++it;
    }
  }
  EXPECT_EQ(got, (std::vector<int>{0, 1, 2, 4, 5}));
}

TEST(MpiPool, CallsFromSeveralThreadsEachGetTheirOwnResults) {
  std::vector<std::thread> threads;
  std::vector<std::int64_t> sums(4);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([t, &sums] {
      const auto out = pool().map(square, iota_vec(1000 + t));
      sums[static_cast<std::size_t>(t)] = std::accumulate(out.begin(), out.end(), std::int64_t{0});
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 0; t < 4; ++t) {
    std::int64_t want = 0;
    for (int i = 0; i < 1000 + t; ++i) want += square(i);
    EXPECT_EQ(sums[static_cast<std::size_t>(t)], want);
  }
}

}  // namespace

int main(int argc, char** argv) {
  mproc::mpi::PoolOptions options;
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], "--processes-per-rank=", 21) == 0) {
      g_per_rank = static_cast<unsigned>(std::atoi(argv[i] + 21));
    } else if (std::strncmp(argv[i], "--task-timeout-ms=", 18) == 0) {
      g_timeout_ms = std::atoi(argv[i] + 18);
    }
  }
  options.processes_per_rank = g_per_rank;
  options.task_timeout = std::chrono::milliseconds(g_timeout_ms);
  mproc::mpi::Pool pool(argc, argv, options);  // ranks 1..N-1 serve here and exit
  g_pool = &pool;
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
