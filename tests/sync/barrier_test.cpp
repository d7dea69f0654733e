#include "mproc/barrier.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <thread>
#include <vector>

#include "mproc/process.hpp"
#include "process/test_pipe.hpp"
#include "sync/sync_test_util.hpp"

namespace {

using mproc::Barrier;
using mproc::BrokenBarrierError;
using mproc::Process;
using mproc::test::read_byte;
using mproc::test::SignalStorm;
using mproc::test::TestPipe;
using mproc::test::write_byte;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

TEST(Barrier, ReleasesAllPartiesTogetherRoundAfterRound) {
  constexpr int kParties = 3, kRounds = 50;
  Barrier barrier(kParties);
  std::vector<Process> children;
  TestPipe indices;
  for (int i = 0; i < kParties - 1; ++i) {
    children.emplace_back([barrier, w = indices.w]() mutable {
      for (int r = 0; r < kRounds; ++r) {
        const auto idx = barrier.wait(10s);
        if (r == 0) write_byte(w, static_cast<char>('0' + idx));
        (void)barrier.wait(10s);
      }
    });
    children.back().start();
  }
  std::vector<char> seen;
  for (int r = 0; r < kRounds; ++r) {
    const auto idx = barrier.wait(10s);
    if (r == 0) seen.push_back(static_cast<char>('0' + idx));
    EXPECT_LT(idx, 3u);
    (void)barrier.wait(10s);
  }
  for (auto& c : children) {
    c.join();
    EXPECT_EQ(c.exitcode(), 0);
  }
  seen.push_back(read_byte(indices.r));
  seen.push_back(read_byte(indices.r));
  std::sort(seen.begin(), seen.end());
  EXPECT_EQ(seen, (std::vector<char>{'0', '1', '2'}));
  EXPECT_FALSE(barrier.broken());
  EXPECT_EQ(barrier.n_waiting(), 0u);
  EXPECT_EQ(barrier.parties(), 3u);
}

TEST(Barrier, ATimedOutWaitBreaksItForEveryone) {
  Barrier barrier(3);
  TestPipe waiting;
  Process child([barrier, w = waiting.w]() mutable {
    write_byte(w);
    try {
      (void)barrier.wait();  // no timeout: the parent's timeout must end it
    } catch (const BrokenBarrierError&) {
      ::_exit(7);
    }
    ::_exit(0);
  });
  child.start();
  ASSERT_EQ(read_byte(waiting.r), 'x');
  const auto t0 = Clock::now();
  EXPECT_THROW((void)barrier.wait(50ms), BrokenBarrierError);
  EXPECT_GE(Clock::now() - t0, 50ms);
  child.join();
  EXPECT_EQ(child.exitcode(), 7);
  EXPECT_TRUE(barrier.broken());
  EXPECT_THROW((void)barrier.wait(1s), BrokenBarrierError);

  barrier.reset();
  EXPECT_FALSE(barrier.broken());
  std::thread t([&] { (void)barrier.wait(10s); });
  std::thread u([&] { (void)barrier.wait(10s); });
  EXPECT_NO_THROW((void)barrier.wait(10s));
  t.join();
  u.join();
}

TEST(Barrier, AbortAndResetWakeWaitersWithBrokenBarrierError) {
  for (int use_reset = 0; use_reset < 2; ++use_reset) {
    Barrier barrier(2);
    TestPipe waiting;
    Process child([barrier, w = waiting.w]() mutable {
      write_byte(w);
      try {
        (void)barrier.wait(10s);
      } catch (const BrokenBarrierError&) {
        ::_exit(7);
      }
      ::_exit(0);
    });
    child.start();
    ASSERT_EQ(read_byte(waiting.r), 'x');
    // The child may not sleep yet: either way it must end with BrokenBarrierError, because it
    // joins the generation that abort/reset ends, or finds it broken.
    while (barrier.n_waiting() == 0) std::this_thread::yield();
    if (use_reset) {
      barrier.reset();
      EXPECT_FALSE(barrier.broken());
    } else {
      barrier.abort();
      EXPECT_TRUE(barrier.broken());
    }
    child.join();
    EXPECT_EQ(child.exitcode(), 7);
  }
}

TEST(Barrier, APartyKilledWhileWaitingStillCounts) {
  Barrier barrier(3);
  TestPipe waiting;
  Process victim([barrier, w = waiting.w]() mutable {
    write_byte(w);
    (void)barrier.wait();
    ::_exit(0);
  });
  victim.start();
  ASSERT_EQ(read_byte(waiting.r), 'x');
  while (barrier.n_waiting() == 0) std::this_thread::yield();
  victim.kill();
  victim.join();
  std::thread t([&] { (void)barrier.wait(10s); });
  EXPECT_NO_THROW((void)barrier.wait(10s));
  t.join();
}

TEST(Barrier, ZeroPartiesIsAnError) { EXPECT_THROW(Barrier(0), mproc::Error); }

TEST(Barrier, SignalStormNeitherShortensNorBreaksATimedWait) {
  Barrier barrier(2);
  const int hits_before = SignalStorm::hits();
  bool broke = false;
  Clock::duration waited{};
  {
    SignalStorm storm;
    const auto t0 = Clock::now();
    try {
      (void)barrier.wait(300ms);
    } catch (const BrokenBarrierError&) {
      broke = true;
    }
    waited = Clock::now() - t0;
  }
  EXPECT_TRUE(broke);
  EXPECT_GE(waited, 300ms);
  EXPECT_GT(SignalStorm::hits(), hits_before);
}

}  // namespace
