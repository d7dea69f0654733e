// format_bar, format_interval, utf8_locale and RateEma: the pure parts of the progress bar,
// against strings tqdm's format_meter gives for the same numbers.
#include <gtest/gtest.h>

#include <string>

#include "pool/progress_bar.hpp"

namespace mproc::detail {
namespace {

std::size_t columns(const std::string& s) {
  std::size_t n = 0;
  for (char c : s) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return n;
}

BarLine line(std::size_t done, std::optional<std::size_t> total, double elapsed, double rate,
             int width) {
  BarLine l;
  l.done = done;
  l.total = total;
  l.elapsed_s = elapsed;
  l.rate = rate;
  l.width = width;
  return l;
}

TEST(FormatBar, ZeroPercentHasEmptyBarAndUnknownRate) {
  EXPECT_EQ(format_bar(line(0, 100, 0, 0, 50)),
            "  0%|                     | 0/100 [00:00<?, ?it/s]");
}

TEST(FormatBar, PartialBlockAt45Percent) {
  EXPECT_EQ(format_bar(line(45, 100, 1.5, 30.1, 48)),
            " 45%|████▌     | 45/100 [00:01<00:01, 30.10it/s]");
}

TEST(FormatBar, AsciiUsesDigitsForPartialCellsAndHashForFull) {
  auto l = line(45, 100, 1.5, 30.1, 48);
  l.unicode = false;
  EXPECT_EQ(format_bar(l), " 45%|####5     | 45/100 [00:01<00:01, 30.10it/s]");
}

TEST(FormatBar, HundredPercentFillsTheBar) {
  EXPECT_EQ(format_bar(line(100, 100, 3.3, 30.3, 48)),
            "100%|█████████| 100/100 [00:03<00:00, 30.30it/s]");
}

TEST(FormatBar, PercentageRoundsDownSoAlmostDoneIsNot100) {
  auto s = format_bar(line(999, 1000, 10, 99.9, 60));
  EXPECT_EQ(s.substr(0, 5), " 99%|") << s;
}

TEST(FormatBar, UnknownTotalShowsCountAndRateOnly) {
  EXPECT_EQ(format_bar(line(45, std::nullopt, 1.5, 30.1, 80)), "45it [00:01, 30.10it/s]");
}

TEST(FormatBar, MoreDoneThanTotalFallsBackToUnknownTotal) {
  EXPECT_EQ(format_bar(line(12, 10, 1.5, 8, 80)), "12it [00:01,  8.00it/s]");
}

TEST(FormatBar, ZeroTotalShowsCountForm) {
  EXPECT_EQ(format_bar(line(0, 0, 0, 0, 80)), "0it [00:00, ?it/s]");
}

TEST(FormatBar, SlowerThanOnePerSecondShowsSecondsPerItem) {
  EXPECT_EQ(format_bar(line(45, std::nullopt, 3723.9, 0.5, 80)), "45it [1:02:03,  2.00s/it]");
}

TEST(FormatBar, EtaPastAnHourHasHours) {
  EXPECT_EQ(format_bar(line(0, 10000, 5, 2.7, 0)),
            "  0%|          | 0/10000 [00:05<1:01:43,  2.70it/s]");
}

TEST(FormatBar, DescAndFailuresAsTqdmPrefixAndPostfix) {
  auto l = line(3, 7, 100, 0.25, 0);
  l.desc = "work";
  l.failed = 2;
  EXPECT_EQ(format_bar(l), "work:  42%|████▎     | 3/7 [01:40<00:16,  4.00s/it, failed=2]");
}

TEST(FormatBar, NarrowerThanTheCountersDropsTheBarAndCuts) {
  EXPECT_EQ(format_bar(line(45, 100, 1.5, 30.1, 20)), " 45% 45/100 [00:01<0");
  EXPECT_EQ(format_bar(line(45, std::nullopt, 1.5, 30.1, 8)), "45it [00");
}

TEST(FormatBar, BarFillsTheWidthExactlyWhenThereIsRoom) {
  for (int width = 1; width <= 200; ++width) {
    for (std::size_t done : {0u, 1u, 33u, 67u, 99u, 100u}) {
      for (bool unicode : {true, false}) {
        auto l = line(done, 100, 12.3, 7.5, width);
        l.unicode = unicode;
        auto s = format_bar(l);
        EXPECT_LE(columns(s), static_cast<std::size_t>(width)) << width << " " << s;
        if (width > 45) {
          EXPECT_EQ(columns(s), static_cast<std::size_t>(width)) << s;
        }
        EXPECT_EQ(s.find_first_of("\r\n"), std::string::npos);
      }
    }
  }
}

TEST(FormatBar, CutNeverSplitsACodePoint) {
  auto l = line(5, 10, 1, 5, 0);
  l.desc = "ééééé";
  for (int width = 1; width < 40; ++width) {
    l.width = width;
    auto s = format_bar(l);
    EXPECT_LE(columns(s), static_cast<std::size_t>(width));
    EXPECT_NE(static_cast<unsigned char>(s.back()), 0xC3) << s;  // a lead byte left dangling
  }
}

TEST(FormatInterval, MinutesSecondsThenHours) {
  EXPECT_EQ(format_interval(0), "00:00");
  EXPECT_EQ(format_interval(7.9), "00:07");
  EXPECT_EQ(format_interval(754), "12:34");
  EXPECT_EQ(format_interval(3723), "1:02:03");
  EXPECT_EQ(format_interval(90000), "25:00:00");
  EXPECT_EQ(format_interval(1e300), "?");
  EXPECT_EQ(format_interval(-1), "?");
}

TEST(Utf8Locale, FirstSetVariableDecidesAsPosixPrecedence) {
  EXPECT_TRUE(utf8_locale(nullptr, nullptr, "en_US.UTF-8"));
  EXPECT_TRUE(utf8_locale(nullptr, nullptr, "C.utf8"));
  EXPECT_TRUE(utf8_locale("", "de_DE.Utf-8", "C"));
  EXPECT_FALSE(utf8_locale("C", nullptr, "en_US.UTF-8"));  // LC_ALL wins
  EXPECT_FALSE(utf8_locale(nullptr, nullptr, "POSIX"));
  EXPECT_FALSE(utf8_locale(nullptr, nullptr, "en_US.ISO-8859-1"));
  EXPECT_FALSE(utf8_locale(nullptr, nullptr, nullptr));
}

TEST(RateEma, FirstSampleIsItsOwnRate) {
  RateEma e;
  EXPECT_TRUE(e.empty());
  EXPECT_EQ(e.rate(), 0);
  e.add(10, 1);
  EXPECT_DOUBLE_EQ(e.rate(), 10);
}

TEST(RateEma, WeighsRecentSamplesAsTqdmSmoothing03) {
  RateEma e;
  e.add(10, 1);
  e.add(30, 1);
  // tqdm: EMA(dn) / EMA(dt) = (0.3*30 + 0.7*0.3*10) / (0.3*1 + 0.7*0.3*1)
  EXPECT_NEAR(e.rate(), 11.1 / 0.51, 1e-9);
  EXPECT_GT(e.rate(), 20);  // nearer the recent 30/s than the overall average
}

TEST(RateEma, FollowsAStepChangeWithinAFewSamples) {
  RateEma e;
  for (int i = 0; i < 20; ++i) e.add(10, 1);
  for (int i = 0; i < 10; ++i) e.add(100, 1);
  EXPECT_NEAR(e.rate(), 100, 100 * 0.7 * 0.7 * 0.7 * 0.7 * 0.7 * 0.7 * 0.7 * 0.7 * 0.7 * 0.7);
}

TEST(RateEma, IdleTimeLowersTheRateContinuously) {
  RateEma e;
  for (int i = 0; i < 30; ++i) e.add(10, 1);
  EXPECT_DOUBLE_EQ(e.rate_after_idle(0.5), e.rate());
  EXPECT_NEAR(e.rate_after_idle(1.0), e.rate(), 1e-9);
  EXPECT_LT(e.rate_after_idle(1.1), e.rate());
  EXPECT_NEAR(e.rate_after_idle(10), 10.0 / 3.7, 1e-3);  // (0.3*10 + 0.7*10) / (0.3*10 + 0.7*1)
  EXPECT_LT(e.rate_after_idle(100), e.rate_after_idle(10));
  EXPECT_EQ(RateEma().rate_after_idle(5), 0);
}

}  // namespace
}  // namespace mproc::detail
