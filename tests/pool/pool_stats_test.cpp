// Pool::stats() under every start method: outcome counts that match exactly what the items did,
// recycles and crash signals, bytes at least the encoded sizes, compute time at least what the
// tasks are known to have spun, and a total that is the sum of the slots — also read from another
// thread while a map runs (run it under TSan). No upper bounds on times.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <map>
#include <numeric>
#include <ranges>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "mproc/mproc.hpp"
#include "pool_params.hpp"

namespace {

using namespace std::chrono_literals;

class PoolStatsTest : public mproc::test::PoolParam {};

__attribute__((noinline)) void spin_forever() {
  volatile bool forever = true;
  while (forever) {
  }
}

// 7 and 27 raise SIGSEGV, 9 aborts (SIGABRT), 15 hangs, 3, 13, 23, 33 throw.
int mixed(int x) {
  if (x == 7 || x == 27) ::raise(SIGSEGV);
  if (x == 9) std::abort();
  if (x == 15) spin_forever();
  if (x % 10 == 3) throw std::runtime_error("three");
  return x;
}

int twice(int x) { return 2 * x; }

// Busy for at least `us` microseconds by the steady clock (the clock stats() uses).
int spin_for(int us) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::microseconds(us);
  while (std::chrono::steady_clock::now() < until) {
  }
  return us;
}

std::string spin_for_text(std::string s) {
  spin_for(static_cast<int>(s.size()) * 100);
  return s + s;
}

std::string echo(std::string s) { return s + "!"; }

// Every summed field of the total equals the sum over the slots.
void expect_total_is_sum(const mproc::PoolStats& s) {
  mproc::WorkerStats sum;
  for (const auto& w : s.workers) {
    sum.items_done += w.items_done;
    sum.items_failed.remote_error += w.items_failed.remote_error;
    sum.items_failed.crashed += w.items_failed.crashed;
    sum.items_failed.timed_out += w.items_failed.timed_out;
    sum.items_failed.cancelled += w.items_failed.cancelled;
    sum.recycles += w.recycles;
    sum.crashes += w.crashes;
    for (auto [sig, n] : w.crashes_by_signal) sum.crashes_by_signal[sig] += n;
    sum.compute_time += w.compute_time;
    sum.codec_time += w.codec_time;
    sum.wait_time += w.wait_time;
    sum.bytes_in += w.bytes_in;
    sum.bytes_out += w.bytes_out;
    sum.items_timed += w.items_timed;
    sum.rss_bytes += w.rss_bytes;
    EXPECT_LE(w.item_time_p50, w.item_time_p95);
  }
  const auto& t = s.total;
  EXPECT_EQ(t.items_done, sum.items_done);
  EXPECT_EQ(t.items_failed.remote_error, sum.items_failed.remote_error);
  EXPECT_EQ(t.items_failed.crashed, sum.items_failed.crashed);
  EXPECT_EQ(t.items_failed.timed_out, sum.items_failed.timed_out);
  EXPECT_EQ(t.items_failed.cancelled, sum.items_failed.cancelled);
  EXPECT_EQ(t.recycles, sum.recycles);
  EXPECT_EQ(t.crashes, sum.crashes);
  EXPECT_EQ(t.crashes_by_signal, sum.crashes_by_signal);
  EXPECT_EQ(t.compute_time, sum.compute_time);
  EXPECT_EQ(t.codec_time, sum.codec_time);
  EXPECT_EQ(t.wait_time, sum.wait_time);
  EXPECT_EQ(t.bytes_in, sum.bytes_in);
  EXPECT_EQ(t.bytes_out, sum.bytes_out);
  EXPECT_EQ(t.items_timed, sum.items_timed);
  EXPECT_EQ(t.rss_bytes, sum.rss_bytes);
  EXPECT_EQ(t.pid, 0);
  EXPECT_LE(t.item_time_p50, t.item_time_p95);
}

TEST_P(PoolStatsTest, OutcomeCountsMatchWhatTheItemsDid) {
  auto options = opts(2);
  options.task_timeout = 500ms;
  mproc::Pool pool(options);
  const auto rs = pool.try_map(mixed, std::views::iota(0, 40));
  ASSERT_EQ(rs.size(), 40u);
  const auto s = pool.stats();
  ASSERT_EQ(s.workers.size(), 2u);
  const auto& t = s.total;
  EXPECT_EQ(t.items_done, 40u - 3 - 1 - 4);
  EXPECT_EQ(t.items_failed.remote_error, 4u);
  EXPECT_EQ(t.items_failed.crashed, 3u);
  EXPECT_EQ(t.items_failed.timed_out, 1u);
  EXPECT_EQ(t.items_failed.cancelled, 0u);
  EXPECT_EQ(t.items_failed.total(), 8u);
  EXPECT_EQ(t.crashes, 3u);  // the timed-out worker was killed by the pool: not a crash
  EXPECT_EQ(t.crashes_by_signal, (std::map<int, std::uint64_t>{{SIGSEGV, 2}, {SIGABRT, 1}}));
  EXPECT_EQ(t.recycles, 0u);
  // Timed: items that answered (not the crashed and timed-out ones), less the untimed ones of a
  // chunk that a crash cut short (they get their chunk's mean when the chunk ends).
  EXPECT_LE(t.items_timed, 40u - 3 - 1);
  EXPECT_GT(t.items_timed, 0u);
  expect_total_is_sum(s);
}

TEST_P(PoolStatsTest, PackedPathItemsAreCountedAndTimed) {
  mproc::Pool pool(opts(2));
  const auto out = pool.map(twice, std::views::iota(0, 10'000));
  ASSERT_EQ(out.size(), 10'000u);
  const auto s = pool.stats();
  EXPECT_EQ(s.total.items_done, 10'000u);
  EXPECT_EQ(s.total.items_failed.total(), 0u);
  EXPECT_EQ(s.total.items_timed, 10'000u);
  EXPECT_EQ(s.total.crashes, 0u);
  EXPECT_GE(s.total.bytes_in, 10'000u * sizeof(int));
  EXPECT_GE(s.total.bytes_out, 10'000u * sizeof(int));
  expect_total_is_sum(s);
}

TEST_P(PoolStatsTest, RecyclesCountedWithMaxTasksPerChild) {
  auto options = opts(1);  // one slot: the retirements are exactly 10 / 3
  options.max_tasks_per_child = 3;
  mproc::Pool pool(options);
  const auto out = pool.map(twice, std::views::iota(0, 10));
  ASSERT_EQ(out.size(), 10u);
  const auto s = pool.stats();
  ASSERT_EQ(s.workers.size(), 1u);
  EXPECT_EQ(s.workers[0].recycles, 3u);
  EXPECT_EQ(s.workers[0].items_done, 10u);
  EXPECT_EQ(s.workers[0].crashes, 0u);
  expect_total_is_sum(s);
}

TEST_P(PoolStatsTest, BytesAreAtLeastTheEncodedSizes) {
  std::vector<std::string> in;
  std::size_t bytes_in = 0, bytes_out = 0;
  for (int i = 0; i < 200; ++i) {
    in.push_back(std::string(static_cast<std::size_t>(i * 37 % 500), 'a' + i % 26));
    bytes_in += mproc::encoded_size(in.back());
    bytes_out += mproc::encoded_size(echo(in.back()));
  }
  mproc::Pool pool(opts(2));
  const auto out = pool.map(echo, in);
  ASSERT_EQ(out.size(), in.size());
  const auto s = pool.stats();
  EXPECT_EQ(s.total.items_done, in.size());
  EXPECT_GE(s.total.bytes_in, bytes_in);
  EXPECT_GE(s.total.bytes_out, bytes_out);
  EXPECT_GT(s.total.codec_time.count(), 0);  // strings were decoded and encoded
  expect_total_is_sum(s);
}

TEST_P(PoolStatsTest, ComputeTimeCoversKnownBusyTime) {
  mproc::Pool pool(opts(2));
  // The packed path (int -> int, timed per run) and the general one (strings, timed per item).
  const std::vector<int> us(20, 2000);  // 20 items of 2 ms each
  ASSERT_EQ(pool.map(spin_for, us).size(), us.size());
  const auto packed = pool.stats();
  EXPECT_GE(packed.total.compute_time, 40ms);
  EXPECT_EQ(packed.total.items_timed, 20u);
  // Each item's time is its run's mean, itself at least 2 ms; the percentile is a bucket's middle,
  // at most 1/16 below the bucket's smallest time.
  EXPECT_GE(packed.total.item_time_p50, 2ms - 2ms / 16);
  const std::vector<std::string> texts(10, std::string(30, 'x'));  // 10 items of 3 ms each
  ASSERT_EQ(pool.map(spin_for_text, texts).size(), texts.size());
  const auto general = pool.stats();
  EXPECT_GE(general.total.compute_time - packed.total.compute_time, 30ms);
  EXPECT_EQ(general.total.items_timed, 30u);
  EXPECT_GE(general.total.item_time_p95, 2ms - 2ms / 16);
  expect_total_is_sum(general);
}

TEST_P(PoolStatsTest, LiveWorkersHavePidsAndResidentMemory) {
  mproc::Pool pool(opts(2));
  ASSERT_EQ(pool.map(twice, std::views::iota(0, 100)).size(), 100u);
  const auto s = pool.stats();
  auto pids = pool.worker_pids();
  std::sort(pids.begin(), pids.end());
  std::vector<int> seen;
  for (const auto& w : s.workers) {
    EXPECT_NE(w.pid, 0);
    EXPECT_GT(w.rss_bytes, 0u) << w.pid;
    seen.push_back(w.pid);
  }
  std::sort(seen.begin(), seen.end());
  EXPECT_EQ(seen, pids);
  EXPECT_GT(s.total.rss_bytes, 0u);
  expect_total_is_sum(s);
}

// Spins until the soft timeout asks it to stop, then gives up.
int give_up_when_asked(int x) {
  while (!mproc::stop_requested()) std::this_thread::yield();
  mproc::throw_if_stop_requested();
  return x;
}

TEST_P(PoolStatsTest, SoftTimeoutCountsAsTimedOut) {
  auto options = opts(2);
  options.soft_timeout = 50ms;
  options.task_timeout = 120s;
  mproc::Pool pool(options);
  const auto rs = pool.try_map(give_up_when_asked, std::vector<int>{1, 2, 3});
  ASSERT_EQ(rs.size(), 3u);
  const auto s = pool.stats();
  EXPECT_EQ(s.total.items_failed.timed_out, 3u);
  EXPECT_EQ(s.total.items_failed.remote_error, 0u);
  EXPECT_EQ(s.total.items_done, 0u);
  EXPECT_EQ(s.total.crashes, 0u);  // the workers stopped the task themselves and live on
  expect_total_is_sum(s);
}

std::pair<int, int> id_and_pid(int) { return {mproc::worker_id(), static_cast<int>(::getpid())}; }

TEST_P(PoolStatsTest, SlotIsTheWorkerId) {
  mproc::Pool pool(opts(2));
  const auto seen = pool.map(id_and_pid, std::views::iota(0, 200));
  const auto s = pool.stats();
  for (auto [id, pid] : seen) {
    ASSERT_GE(id, 0);
    ASSERT_LT(id, 2);
    EXPECT_EQ(s.workers[static_cast<std::size_t>(id)].pid, pid);
  }
}

TEST_P(PoolStatsTest, StatsOutliveTheWorkers) {
  mproc::Pool pool(opts(2));
  ASSERT_EQ(pool.map(twice, std::views::iota(0, 1000)).size(), 1000u);
  const auto before = pool.stats();
  pool.close();
  pool.join();
  const auto after = pool.stats();
  EXPECT_EQ(after.total.items_done, 1000u);
  EXPECT_EQ(after.total.items_timed, before.total.items_timed);
  EXPECT_EQ(after.total.bytes_out, before.total.bytes_out);
  EXPECT_GE(after.total.compute_time, before.total.compute_time);
  EXPECT_EQ(after.total.crashes, 0u);  // workers told to stop did not crash
  for (const auto& w : after.workers) {
    EXPECT_EQ(w.pid, 0);
    EXPECT_EQ(w.rss_bytes, 0u);
  }
  expect_total_is_sum(after);
}

TEST_P(PoolStatsTest, CrashedSlotKeepsItsCountsAcrossTheReplacement) {
  mproc::Pool pool(opts(1));
  ASSERT_EQ(pool.map(twice, std::views::iota(0, 10)).size(), 10u);
  const int first = pool.stats().workers[0].pid;
  EXPECT_THROW(pool.apply(mixed, 7), mproc::WorkerCrashed);
  EXPECT_EQ(pool.apply(twice, 4), 8);
  const auto s = pool.stats();
  EXPECT_NE(s.workers[0].pid, first);
  EXPECT_NE(s.workers[0].pid, 0);
  EXPECT_EQ(s.workers[0].items_done, 11u);
  EXPECT_EQ(s.workers[0].items_failed.crashed, 1u);
  EXPECT_EQ(s.workers[0].crashes_by_signal.at(SIGSEGV), 1u);
}

TEST_P(PoolStatsTest, SafeToReadFromAnotherThreadDuringAMap) {
  mproc::Pool pool(opts(2));
  std::atomic<bool> stop{false};
  std::uint64_t reads = 0;
  bool monotonic = true;
  std::thread reader([&] {
    std::uint64_t last = 0;
    while (!stop.load()) {
      const auto s = pool.stats();
      if (s.total.items_done < last) monotonic = false;
      last = s.total.items_done;
      ++reads;
    }
  });
  std::vector<std::string> in(2000, std::string(50, 'y'));
  const auto out = pool.map(echo, in);
  const auto ints = pool.map(twice, std::views::iota(0, 20'000));
  stop.store(true);
  reader.join();
  ASSERT_EQ(out.size(), in.size());
  ASSERT_EQ(ints.size(), 20'000u);
  EXPECT_GT(reads, 0u);
  EXPECT_TRUE(monotonic);
  const auto s = pool.stats();
  EXPECT_EQ(s.total.items_done, 22'000u);
  expect_total_is_sum(s);
}

TEST_P(PoolStatsTest, ProgressBarEndsWithASummaryOfTheCall) {
  auto options = opts(2);
  options.progress = true;
  options.progress_force = true;
  mproc::Pool pool(options);
  ASSERT_EQ(pool.map(twice, std::views::iota(0, 50)).size(), 50u);  // not in the summary below
  testing::internal::CaptureStderr();
  const auto rs = pool.try_map(mixed, std::views::iota(0, 8));  // 3 throws, 7 crashes
  const std::string err = testing::internal::GetCapturedStderr();
  ASSERT_EQ(rs.size(), 8u);
  EXPECT_NE(err.find("mproc: 6 done, 2 failed (1 raised, 1 crashed) · item p50 "),
            std::string::npos)
      << err;
  EXPECT_NE(err.find("crashes: SIGSEGV"), std::string::npos) << err;
}

MPROC_ALL_START_METHODS(PoolStatsTest);

}  // namespace
