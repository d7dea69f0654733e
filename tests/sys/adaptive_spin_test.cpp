// sys::AdaptiveSpin: spins while recent waits were short, sleeps at once while they are long
// (an oversubscribed machine), probes every 8th wait, and comes back after a few short waits.
#include "sys/spin.hpp"

#include <gtest/gtest.h>

#include <chrono>

namespace {

using std::chrono::microseconds;
using std::chrono::nanoseconds;
using mproc::sys::AdaptiveSpin;

constexpr microseconds kLimit{50};

TEST(AdaptiveSpin, SpinsTheFullLimitWhileWaitsAreShort) {
  AdaptiveSpin spin(kLimit);
  for (int i = 0; i < 100; ++i) {
    ASSERT_EQ(spin.budget(), kLimit) << "wait " << i;
    spin.record(microseconds(3));
  }
}

TEST(AdaptiveSpin, LongWaitsStopTheSpinExceptForEveryEighthProbe) {
  AdaptiveSpin spin(kLimit);
  int spun = 0;
  int slept_at_once = 0;
  for (int i = 0; i < 64; ++i) {
    const nanoseconds b = spin.budget();
    if (b == kLimit) {
      ++spun;
    } else {
      ASSERT_EQ(b.count(), 0);
      ++slept_at_once;
    }
    spin.record(std::chrono::milliseconds(5));
  }
  // The first three waits spin (the average, from 0, passes the limit at the fourth: 0 -> 25 ->
  // 44 -> 58 µs), then only the probes (waits 8, 16, ..., 64).
  EXPECT_EQ(spun, 3 + 8);
  EXPECT_EQ(slept_at_once, 64 - spun);
}

TEST(AdaptiveSpin, AFewShortWaitsBringTheSpinBackAfterAnyLongOne) {
  AdaptiveSpin spin(kLimit);
  for (int i = 0; i < 20; ++i) {
    (void)spin.budget();
    spin.record(std::chrono::hours(1));  // counted as twice the limit, however long
  }
  for (int i = 0; i < 3; ++i) {  // the average: 100 µs -> 75 -> 56 -> 43, under the limit
    (void)spin.budget();
    spin.record(microseconds(1));
  }
  for (int i = 0; i < 8; ++i) {  // every wait spins again, not only the probes
    ASSERT_EQ(spin.budget(), kLimit) << "wait " << i;
    spin.record(microseconds(1));
  }
}

}  // namespace
