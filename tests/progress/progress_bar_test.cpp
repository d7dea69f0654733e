// ProgressBar: when it draws (tty, force, MPROC_PROGRESS), how often (a fake clock), what it
// writes, what the callback sees, and that a broken output never stops the map.
#include "pool/progress_bar.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include "mproc/progress.hpp"

namespace mproc::detail {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// Sets (or unsets, for nullptr) an environment variable for one test, restoring it after.
class EnvVar {
 public:
  EnvVar(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    value ? ::setenv(name, value, 1) : ::unsetenv(name);
  }
  ~EnvVar() { old_ ? ::setenv(name_, old_->c_str(), 1) : ::unsetenv(name_); }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

// A pipe whose read end never blocks, for capturing what the bar writes.
struct TestPipe {
  int r = -1, w = -1;
  TestPipe() {
    int fds[2];
    EXPECT_EQ(::pipe2(fds, O_CLOEXEC | O_NONBLOCK), 0);
    r = fds[0];
    w = fds[1];
  }
  ~TestPipe() {
    if (r >= 0) ::close(r);
    if (w >= 0) ::close(w);
  }
  std::string drain() const {
    std::string out;
    char buf[4096];
    ssize_t n;
    while ((n = ::read(r, buf, sizeof buf)) > 0) out.append(buf, static_cast<std::size_t>(n));
    return out;
  }
};

// The bar's environment, fixed for every test: no MPROC_PROGRESS, a UTF-8 locale, 60 columns.
class ProgressBarTest : public testing::Test {
 protected:
  EnvVar mode_{"MPROC_PROGRESS", nullptr};
  EnvVar all_{"LC_ALL", nullptr};
  EnvVar ctype_{"LC_CTYPE", nullptr};
  EnvVar lang_{"LANG", "C.UTF-8"};
  EnvVar columns_{"COLUMNS", "60"};
  TestPipe pipe_;
  Clock::time_point now_ = Clock::time_point() + 1000s;

  ProgressBarOptions options(bool enabled, bool force) {
    ProgressBarOptions o;
    o.enabled = enabled;
    o.force = force;
    o.fd = pipe_.w;
    o.clock = [this] { return now_; };
    return o;
  }
};

std::size_t count(const std::string& s, char c) {
  return static_cast<std::size_t>(std::count(s.begin(), s.end(), c));
}

TEST_F(ProgressBarTest, DrawsNothingWhenFdIsNotATerminal) {
  ProgressBar bar(options(true, false), 10);
  EXPECT_FALSE(bar.drawing());
  bar.update(5, 0);
  bar.finish(true);
  EXPECT_EQ(pipe_.drain(), "");
}

TEST_F(ProgressBarTest, ForceDrawsToAPipeWithCarriageReturnAndFinalNewline) {
  ProgressBar bar(options(true, true), 10);
  EXPECT_TRUE(bar.drawing());
  bar.update(0, 0);
  std::string first = pipe_.drain();
  EXPECT_EQ(first, "\r  0%|" + std::string(32, ' ') + "| 0/10 [00:00<?, ?it/s]");  // 60 columns
  now_ += 1s;
  bar.update(10, 0);
  bar.finish(true);
  std::string rest = pipe_.drain();
  EXPECT_EQ(rest.substr(0, 5), "\r100%");
  EXPECT_NE(rest.find("| 10/10 [00:01<00:00, 10.00it/s]"), std::string::npos) << rest;
  EXPECT_EQ(rest.back(), '\n');
  EXPECT_EQ(count(rest, '\n'), 1u);
}

TEST_F(ProgressBarTest, NotEnabledDrawsNothingEvenWhenForced) {
  ProgressBar bar(options(false, true), 10);
  EXPECT_FALSE(bar.drawing());
}

TEST_F(ProgressBarTest, EnvOneDrawsWithoutATerminal) {
  EnvVar on("MPROC_PROGRESS", "1");
  EXPECT_TRUE(ProgressBar(options(true, false), 10).drawing());
  EXPECT_FALSE(ProgressBar(options(false, false), 10).drawing());  // only for maps that asked
}

TEST_F(ProgressBarTest, EnvZeroBeatsForce) {
  EnvVar off("MPROC_PROGRESS", "0");
  ProgressBar bar(options(true, true), 10);
  EXPECT_FALSE(bar.drawing());
  bar.update(1, 0);
  bar.finish(true);
  EXPECT_EQ(pipe_.drain(), "");
}

TEST_F(ProgressBarTest, AsciiWhenTheLocaleIsNotUtf8) {
  EnvVar c("LANG", "C");
  ProgressBar bar(options(true, true), 10);
  now_ += 1s;
  bar.update(5, 0);
  std::string out = pipe_.drain();
  EXPECT_NE(out.find(" 50%|############            | 5/10"), std::string::npos) << out;
  EXPECT_EQ(out.find("\xe2\x96"), std::string::npos) << out;  // no block characters
}

TEST_F(ProgressBarTest, RedrawsAtMostEveryTenthOfASecond) {
  ProgressBar bar(options(true, true), 1000);
  bar.update(1, 0);  // the first call draws
  EXPECT_EQ(count(pipe_.drain(), '\r'), 1u);
  for (int i = 2; i < 10; ++i) {
    now_ += 10ms;
    bar.update(static_cast<std::size_t>(i), 0);
  }
  EXPECT_EQ(pipe_.drain(), "");  // 80 ms after the first draw
  now_ += 20ms;
  bar.update(10, 0);
  EXPECT_EQ(count(pipe_.drain(), '\r'), 1u);
  now_ += 99ms;
  bar.update(11, 0);
  EXPECT_EQ(pipe_.drain(), "");
  now_ += 1ms;
  bar.update(11, 0);
  EXPECT_EQ(count(pipe_.drain(), '\r'), 1u);
}

TEST_F(ProgressBarTest, CallbackSeesIncreasingDoneAndAFinalCall) {
  std::vector<Progress> seen;
  auto o = options(false, false);
  o.callback = [&](const Progress& p) { seen.push_back(p); };
  ProgressBar bar(std::move(o), 50);
  EXPECT_FALSE(bar.drawing());
  for (std::size_t i = 1; i <= 50; ++i) {
    now_ += 30ms;
    bar.update(i, i / 10);
    bar.update(i - 1, 0);  // late, smaller counts are ignored
  }
  const std::size_t before_finish = seen.size();
  EXPECT_GE(before_finish, 13u);  // 1.5 s of updates, one call per 0.1 s at most
  EXPECT_LE(before_finish, 16u);
  bar.finish(true);
  bar.finish(true);  // idempotent
  ASSERT_EQ(seen.size(), before_finish + 1);
  for (std::size_t i = 1; i < seen.size(); ++i) {
    EXPECT_GE(seen[i].done, seen[i - 1].done);
    EXPECT_GE(seen[i].elapsed, seen[i - 1].elapsed);
  }
  const Progress& last = seen.back();
  EXPECT_EQ(last.done, 50u);
  EXPECT_EQ(last.failed, 5u);
  EXPECT_EQ(last.total, 50u);
  EXPECT_NEAR(last.elapsed.count(), 1.5, 1e-9);
  EXPECT_NEAR(last.rate, 50 / 1.5, 1e-9);  // the final call: the overall average
  ASSERT_TRUE(last.eta);
  EXPECT_EQ(last.eta->count(), 0);
  const Progress& mid = seen[seen.size() / 2];
  EXPECT_NEAR(mid.rate, 1 / 0.030, 1.0);  // steady 30 ms per item
  ASSERT_TRUE(mid.eta);
  EXPECT_NEAR(mid.eta->count(), static_cast<double>(50 - mid.done) * 0.030, 0.05);
}

TEST_F(ProgressBarTest, CallbackWithoutTotalHasNoEta) {
  std::vector<Progress> seen;
  auto o = options(false, false);
  o.callback = [&](const Progress& p) { seen.push_back(p); };
  ProgressBar bar(std::move(o), std::nullopt);
  now_ += 1s;
  bar.update(7, 0);
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_FALSE(seen[0].total);
  EXPECT_FALSE(seen[0].eta);
  EXPECT_DOUBLE_EQ(seen[0].rate, 7);
}

TEST_F(ProgressBarTest, AStallLowersTheRateAndRaisesTheEta) {
  std::vector<Progress> seen;
  auto o = options(false, false);
  o.callback = [&](const Progress& p) { seen.push_back(p); };
  ProgressBar bar(std::move(o), 1000);
  for (std::size_t i = 1; i <= 20; ++i) {
    now_ += 100ms;
    bar.update(i * 10, 0);  // 100 items/s
  }
  EXPECT_NEAR(seen.back().rate, 100, 1e-6);
  const double eta_before = seen.back().eta->count();
  for (int i = 0; i < 30; ++i) {
    now_ += 100ms;
    bar.update(200, 0);  // idle ticks: nothing finishes for 3 s
  }
  EXPECT_LT(seen.back().rate, 20);
  EXPECT_GT(seen.back().eta->count(), 5 * eta_before);
  for (std::size_t i = 21; i < seen.size(); ++i) EXPECT_LE(seen[i].rate, seen[i - 1].rate);
}

TEST_F(ProgressBarTest, CallbackExceptionPropagatesFromUpdateNotFromFinish) {
  auto o = options(false, false);
  o.callback = [](const Progress&) { throw std::runtime_error("callback"); };
  ProgressBar bar(std::move(o), 10);
  EXPECT_THROW(bar.update(1, 0), std::runtime_error);
  bar.finish(false);  // noexcept: must not terminate
}

TEST_F(ProgressBarTest, AWriteErrorStopsDrawingWithoutThrowingOrSigpipe) {
  ProgressBar bar(options(true, true), 10);
  ::close(pipe_.r);
  pipe_.r = -1;
  EXPECT_NO_THROW(bar.update(1, 0));  // EPIPE; SIGPIPE would kill this test
  EXPECT_FALSE(bar.drawing());
  bar.finish(true);
}

TEST_F(ProgressBarTest, FinishWithoutUpdatesDrawsOnceAndEndsTheLine) {
  ProgressBar bar(options(true, true), std::nullopt);
  bar.finish(false);
  EXPECT_EQ(pipe_.drain(), "\r0it [00:00, ?it/s]\x1b[K\n");
}

TEST_F(ProgressBarTest, DestructorFinishesAndAMovedFromBarIsSilent) {
  {
    ProgressBar a(options(true, true), 3);
    a.update(1, 0);
    ProgressBar b(std::move(a));
    EXPECT_FALSE(a.drawing());  // NOLINT(bugprone-use-after-move): documented
    a.update(2, 0);
    a.finish(true);
    EXPECT_TRUE(b.drawing());
  }
  std::string out = pipe_.drain();
  EXPECT_EQ(count(out, '\n'), 1u) << out;
  EXPECT_EQ(count(out, '\r'), 2u) << out;
}

}  // namespace
}  // namespace mproc::detail
