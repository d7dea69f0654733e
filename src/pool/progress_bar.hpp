// The progress bar of a pool map: format_bar() lays out one line as tqdm does (a pure function),
// RateEma smooths the rate as tqdm does, and ProgressBar decides whether to draw, throttles, draws
// on a terminal and calls the user's callback.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "mproc/progress.hpp"

namespace mproc::detail {

// One line of the bar.
struct BarLine {
  std::size_t done = 0;
  std::optional<std::size_t> total{};  // nullopt: unknown length (tqdm's `45it [...]` form)
  double elapsed_s = 0;
  double rate = 0;         // items/s; <= 0 or not finite: unknown (`?it/s`, ETA `?`)
  std::size_t failed = 0;  // > 0 adds `, failed=N` inside the brackets (tqdm's postfix)
  int width = 80;          // columns available; <= 0: no limit, a 10-column bar (tqdm's ncols=None)
  bool unicode = true;     // block characters; false: tqdm's ascii charset ` 123456789#`
  std::string_view desc{};  // shown as `desc: ` before everything
};

// tqdm's format_meter: ` 45%|████▌     | 45/100 [00:01<00:01, 30.10it/s]`. The bar takes what the
// counters leave of `width`; when they leave nothing, the line drops the bar (` 45% 45/100 [...]`)
// and is cut at `width`. Differences from tqdm, on purpose: the percentage is rounded down, so
// 999/1000 shows 99%, not 100%; done > total shows the unknown-total form, as tqdm does. Columns
// are counted in code points (desc with wide characters may take more). Never a newline or \r.
[[nodiscard]] std::string format_bar(const BarLine& line);

// tqdm's interval: `00:07`, `12:34`, `1:02:03` (hours not padded); `?` when not finite or huge.
[[nodiscard]] std::string format_interval(double seconds);

// Whether a locale name is UTF-8, as tqdm (through Python) and most programs decide: the first of
// LC_ALL, LC_CTYPE, LANG that is set and not empty names the locale, and its name contains
// "UTF-8" or "utf8" (any case). Not nl_langinfo(CODESET): that reports "ANSI_X3.4-1968" in any
// C++ program that never called setlocale(), which is most of them.
[[nodiscard]] bool utf8_locale(const char* lc_all, const char* lc_ctype, const char* lang) noexcept;

// tqdm's smoothing: exponential moving averages of the items (dn) and seconds (dt) between
// samples, each debiased as tqdm's EMA; the rate is their ratio. alpha 0.3 weighs the newest
// sample 30%; alpha 1 keeps only the newest (0 < alpha <= 1).
class RateEma {
 public:
  explicit RateEma(double alpha = 0.3) noexcept : alpha_(alpha) {}
  void add(double dn, double dt) noexcept;
  // Items per second, 0 before any sample.
  [[nodiscard]] double rate() const noexcept;
  // The rate add(dn, dt) would give, without adding.
  [[nodiscard]] double rate_with(double dn, double dt) const noexcept;
  // The rate after idle_s seconds without a new sample: rate() while idle_s is no longer than the
  // mean gap between samples, then falling as if a typical sample landed now (continuous, so a
  // stall shows as a falling rate and a growing ETA, without a jump).
  [[nodiscard]] double rate_after_idle(double idle_s) const noexcept;
  [[nodiscard]] bool empty() const noexcept { return calls_ == 0; }

 private:
  double alpha_;
  double dn_ = 0;
  double dt_ = 0;
  std::size_t calls_ = 0;
};

struct ProgressBarOptions {
  bool enabled = false;         // draw a bar (when fd is a terminal, or forced)
  bool force = false;           // draw even when fd is not a terminal (MPROC_PROGRESS=0 still wins)
  ProgressCallback callback{};  // called whether or not a bar is drawn
  int fd = 2;
  std::string desc{};
  // The time source; empty: std::chrono::steady_clock::now. Tests inject a fake.
  std::function<std::chrono::steady_clock::time_point()> clock{};
};

// One per map call, used by one thread at a time (the parent's). Movable; a moved-from bar does
// nothing. The destructor calls finish(false).
class ProgressBar {
 public:
  // Decides once whether to draw: enabled, and MPROC_PROGRESS is not "0", and (force, or
  // MPROC_PROGRESS is "1", or fd is a terminal). Starts the clock.
  ProgressBar(ProgressBarOptions opts, std::optional<std::size_t> total);
  ProgressBar(ProgressBar&&) noexcept;
  ProgressBar& operator=(ProgressBar&&) noexcept;
  ~ProgressBar();

  // Reports the counts so far (done never decreases; a smaller value is ignored). Cheap when
  // called often: returns at once unless 0.1 s have passed since the last draw/callback; the
  // first call draws. Call it on idle ticks too, with unchanged counts, so the clock moves and a
  // stall shows as a falling rate. A write error stops the drawing, never throws; the callback's
  // exception propagates.
  void update(std::size_t done, std::size_t failed);

  // Draws the final state and ends the line with "\n" (if drawing), then calls the callback with
  // the final state (rate: overall average). Idempotent; never throws (the callback's exception
  // is dropped here). ok=false (the map failed) ends the line the same way, with the counts where
  // they stopped.
  void finish(bool ok) noexcept;

  // Whether a bar is being drawn (false after a write error, or when never enabled).
  [[nodiscard]] bool drawing() const noexcept;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace mproc::detail
