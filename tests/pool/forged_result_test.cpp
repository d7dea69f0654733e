// RELIABILITY H4: a worker that publishes records it should not — a duplicate result, a result
// after its chunk ended, a record of an unknown kind, a bogus chunk report, a result after the
// pool declared its item timed out. The parent must resolve every item exactly once (a value, or
// an error), never hang or crash, and go on with a fresh worker. Results are matched in order to
// the worker's own items, so a worker can only ever answer for items it holds: a "result for
// another worker's task" cannot be expressed (docs/reliability.md).
//
// The records are forged from inside a task through the worker's own writer
// (pool::forge_record_for_testing), so they are well-formed and land between the worker's own
// records: what a corrupted or compromised worker could do, deterministically. Every case runs
// under fork, forkserver and spawn.
#include <signal.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <ranges>
#include <string>
#include <vector>

#include "mproc/mproc.hpp"
#include "pool/channel.hpp"
#include "pool/worker.hpp"
#include "pool_params.hpp"

namespace {

using mproc::test::PoolParam;

constexpr int kItems = 30;
constexpr int kForger = 5;  // the item whose task forges

std::string value_of(int x) { return "v" + std::to_string(x * x); }

void forge(std::uint32_t kind, const std::vector<std::byte>& payload) {
  if (!mproc::pool::forge_record_for_testing(kind, payload)) {
    throw std::runtime_error("not in a pool worker");
  }
}

// Results are std::string: encoded records of their own (kOk), not packed runs.
std::string duplicate_result(int x) {
  if (x == kForger) forge(mproc::pool::kOk, mproc::encode(value_of(x)));
  return value_of(x);
}

std::string unknown_kind(int x) {
  if (x == kForger) forge(9999, mproc::encode(value_of(x)));
  return value_of(x);
}

std::string bogus_chunk_report(int x) {
  if (x == kForger) {
    const mproc::pool::ChunkDone d{0, 1'000'000, 0};
    std::vector<std::byte> bytes(sizeof d);
    std::memcpy(bytes.data(), &d, sizeof d);
    forge(mproc::pool::kChunkDone, bytes);
  }
  return value_of(x);
}

// After the task returns, its result is followed by a forged one that answers nothing the
// worker still holds once the call's items ran out.
std::string trailing_result(int x) {
  if (x == kItems - 1) forge(mproc::pool::kOk, mproc::encode(value_of(x)));
  return value_of(x);
}

// Blocks SIGTERM and waits for it: the pool's timeout sends it, so the value this returns is
// published after the pool declared the item timed out.
std::string answer_after_timeout(int x) {
  if (x != kForger) return value_of(x);
  sigset_t term;
  sigemptyset(&term);
  sigaddset(&term, SIGTERM);
  ::sigprocmask(SIG_BLOCK, &term, nullptr);
  int sig = 0;
  ::sigwait(&term, &sig);
  return value_of(x);
}

std::string square_string(int x) { return value_of(x); }

// Every item resolved once; a value is one the pool's items can have (a forger may shift
// its own items' answers, never invent one for another worker); the pool then maps correctly.
void expect_each_item_once_and_the_pool_whole(mproc::Pool& pool,
                                              const std::vector<mproc::Result<std::string>>& rs,
                                              int max_failed) {
  ASSERT_EQ(rs.size(), static_cast<std::size_t>(kItems));
  int failed = 0;
  for (int i = 0; i < kItems; ++i) {
    const auto& r = rs[static_cast<std::size_t>(i)];
    if (!r.ok()) {
      ++failed;
      EXPECT_THROW(std::rethrow_exception(r.error()), mproc::Error) << "item " << i;
      continue;
    }
    bool known = false;
    for (int j = 0; j < kItems; ++j) known = known || r.value() == value_of(j);
    EXPECT_TRUE(known) << "item " << i << " got " << r.value();
  }
  EXPECT_LE(failed, max_failed);
  // An answer too many may be read only after the next call gave the forger an item: that item
  // then fails with the forger (WorkerCrashed), and every other one has its own value.
  const auto next = pool.try_map(square_string, std::views::iota(0, kItems));
  for (int i = 0; i < kItems; ++i) {
    const auto& r = next[static_cast<std::size_t>(i)];
    if (r.ok()) {
      EXPECT_EQ(r.value(), value_of(i)) << "item " << i << " of the next call";
    } else {
      EXPECT_THROW(std::rethrow_exception(r.error()), mproc::WorkerCrashed) << "item " << i;
    }
  }
  const auto again = pool.map(square_string, std::views::iota(0, kItems));
  for (int i = 0; i < kItems; ++i) EXPECT_EQ(again[static_cast<std::size_t>(i)], value_of(i));
}

class ForgedRecords : public PoolParam {};

TEST_P(ForgedRecords, ADuplicateResultResolvesNoItemTwice) {
  mproc::Pool pool(opts(2));
  const auto rs = pool.try_map(duplicate_result, std::views::iota(0, kItems), 1);
  expect_each_item_once_and_the_pool_whole(pool, rs, kItems);
}

TEST_P(ForgedRecords, ARecordOfAnUnknownKindCostsOnlyTheForgersItems) {
  mproc::Pool pool(opts(2));
  const auto rs = pool.try_map(unknown_kind, std::views::iota(0, kItems), 1);
  expect_each_item_once_and_the_pool_whole(pool, rs, kItems);
  // The forger is killed as corrupt: the item it was running fails (retries is 0).
  EXPECT_FALSE(rs[kForger].ok());
}

TEST_P(ForgedRecords, ABogusChunkReportIsHarmless) {
  mproc::Pool pool(opts(2));
  const auto rs = pool.try_map(bogus_chunk_report, std::views::iota(0, kItems), 1);
  expect_each_item_once_and_the_pool_whole(pool, rs, kItems);
}

TEST_P(ForgedRecords, AResultAnsweringNothingHeldCostsNoOtherItem) {
  mproc::Pool pool(opts(2));
  const auto rs = pool.try_map(trailing_result, std::views::iota(0, kItems), 1);
  expect_each_item_once_and_the_pool_whole(pool, rs, 1);
}

TEST_P(ForgedRecords, AResultAfterTheTimeoutWasDeclaredIsIgnored) {
  auto options = opts(2);
  options.task_timeout = std::chrono::milliseconds(200);
  options.kill_grace = std::chrono::milliseconds(300);
  mproc::Pool pool(options);
  const auto rs = pool.try_map(answer_after_timeout, std::views::iota(0, kItems), 1);
  ASSERT_EQ(rs.size(), static_cast<std::size_t>(kItems));
  for (int i = 0; i < kItems; ++i) {
    const auto& r = rs[static_cast<std::size_t>(i)];
    if (i == kForger) {
      ASSERT_FALSE(r.ok()) << "the late value was delivered";
      EXPECT_THROW(std::rethrow_exception(r.error()), mproc::TaskTimeout);
    } else {
      ASSERT_TRUE(r.ok()) << "item " << i;
      EXPECT_EQ(r.value(), value_of(i));
    }
  }
  EXPECT_EQ(pool.apply(square_string, 7), value_of(7));
}

MPROC_ALL_START_METHODS(ForgedRecords);

}  // namespace
