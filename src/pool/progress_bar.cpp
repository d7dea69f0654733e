#include "pool/progress_bar.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>

#include "sys/terminal.hpp"
#include "sys/write.hpp"

namespace mproc::detail {

namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kMinInterval = std::chrono::milliseconds(100);
constexpr int kDefaultColumns = 80;

// tqdm's charsets: Bar.UTF is " " then U+258F..U+2588 (1/8 to 8/8 of a cell), Bar.ASCII is
// " 123456789#".
constexpr std::string_view kUnicodeSyms[] = {" ", "▏", "▎", "▍", "▌", "▋", "▊", "▉", "█"};
constexpr std::string_view kAsciiSyms[] = {" ", "1", "2", "3", "4", "5", "6", "7", "8", "9", "#"};

// Columns of UTF-8 text, one per code point.
std::size_t columns(std::string_view s) {
  std::size_t n = 0;
  for (char c : s) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return n;
}

// The longest prefix of s that takes at most `cols` columns, never splitting a code point.
std::string_view cut(std::string_view s, std::size_t cols) {
  std::size_t seen = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80 && seen++ == cols) return s.substr(0, i);
  }
  return s;
}

// floor(a * b / c) without overflow for the sizes a map can have.
std::size_t mul_div(std::size_t a, std::size_t b, std::size_t c) {
  return static_cast<std::size_t>(static_cast<unsigned __int128>(a) * b / c);
}

std::string format_rate(double rate) {
  char buf[64];
  if (!(rate > 0) || !std::isfinite(rate)) return "?it/s";
  if (1 / rate > 1) {
    std::snprintf(buf, sizeof buf, "%5.2fs/it", 1 / rate);
  } else {
    std::snprintf(buf, sizeof buf, "%5.2fit/s", rate);
  }
  return buf;
}

bool contains_nocase(std::string_view s, std::string_view needle) {
  auto it = std::search(s.begin(), s.end(), needle.begin(), needle.end(), [](char a, char b) {
    return (a >= 'A' && a <= 'Z' ? a - 'A' + 'a' : a) == b;
  });
  return it != s.end();
}

}  // namespace

std::string format_interval(double seconds) {
  // 100 million hours: past that an ETA means nothing (and would overflow the integers).
  if (!std::isfinite(seconds) || seconds < 0 || seconds >= 3.6e11) return "?";
  auto t = static_cast<long long>(seconds);
  long long h = t / 3600, m = t / 60 % 60, s = t % 60;
  char buf[48];
  if (h > 0) {
    std::snprintf(buf, sizeof buf, "%lld:%02lld:%02lld", h, m, s);
  } else {
    std::snprintf(buf, sizeof buf, "%02lld:%02lld", m, s);
  }
  return buf;
}

std::string format_bar(const BarLine& line) {
  std::string prefix;
  if (!line.desc.empty()) {
    prefix = line.desc;
    if (!line.desc.ends_with(": ")) prefix += ": ";
  }
  const bool known_rate = line.rate > 0 && std::isfinite(line.rate);
  std::string postfix;
  if (line.failed > 0) postfix = ", failed=" + std::to_string(line.failed);
  const std::string rate = format_rate(line.rate);
  const std::string elapsed = format_interval(line.elapsed_s);
  const auto width = static_cast<std::size_t>(std::max(line.width, 0));
  auto fit = [&](std::string s) {
    if (width > 0 && columns(s) > width) s.resize(cut(s, width).size());
    return s;
  };

  // tqdm: no total, a total of 0, or more done than the total: counters only.
  if (!line.total || *line.total == 0 || line.done > *line.total) {
    return fit(prefix + std::to_string(line.done) + "it [" + elapsed + ", " + rate + postfix + "]");
  }
  const std::size_t total = *line.total;
  const std::string remaining =
      known_rate ? format_interval(static_cast<double>(total - line.done) / line.rate) : "?";
  char pct[16];
  std::snprintf(pct, sizeof pct, "%3zu%%", mul_div(line.done, 100, total));
  const std::string left = prefix + pct;
  const std::string right = " " + std::to_string(line.done) + "/" + std::to_string(total) + " [" +
                            elapsed + "<" + remaining + ", " + rate + postfix + "]";

  const std::size_t fixed = columns(left) + columns(right) + 2;  // the two '|'
  std::size_t bar_cols = 10;
  if (width > 0) {
    if (fixed >= width) return fit(left + right);  // no room for a bar: drop it
    bar_cols = width - fixed;
  }
  const auto& syms = line.unicode ? kUnicodeSyms : kAsciiSyms;
  const std::size_t nsyms = line.unicode ? std::size(kUnicodeSyms) - 1 : std::size(kAsciiSyms) - 1;
  const std::size_t units = mul_div(line.done, bar_cols * nsyms, total);
  const std::size_t full = units / nsyms;
  std::string out = left + "|";
  for (std::size_t i = 0; i < full; ++i) out += syms[nsyms];
  if (full < bar_cols) {
    out += syms[units % nsyms];
    out.append(bar_cols - full - 1, ' ');
  }
  out += "|";
  out += right;
  return out;
}

bool utf8_locale(const char* lc_all, const char* lc_ctype, const char* lang) noexcept {
  for (const char* v : {lc_all, lc_ctype, lang}) {
    if (v != nullptr && *v != '\0') {
      return contains_nocase(v, "utf-8") || contains_nocase(v, "utf8");
    }
  }
  return false;  // the "C" locale
}

void RateEma::add(double dn, double dt) noexcept {
  dn_ = alpha_ * dn + (1 - alpha_) * dn_;
  dt_ = alpha_ * dt + (1 - alpha_) * dt_;
  ++calls_;
}

double RateEma::rate() const noexcept {
  // Both averages carry the same debiasing factor (1 - beta^calls), so their ratio needs none.
  return calls_ > 0 && dt_ > 0 ? dn_ / dt_ : 0;
}

double RateEma::rate_with(double dn, double dt) const noexcept {
  double n = alpha_ * dn + (1 - alpha_) * dn_;
  double t = alpha_ * dt + (1 - alpha_) * dt_;
  return t > 0 ? n / t : 0;
}

double RateEma::rate_after_idle(double idle_s) const noexcept {
  if (calls_ == 0) return 0;
  double debias = 1 - std::pow(1 - alpha_, static_cast<double>(calls_));
  double mean_dn = debias > 0 ? dn_ / debias : dn_;
  return std::min(rate(), rate_with(mean_dn, idle_s));
}

struct ProgressBar::State {
  ProgressBarOptions opts;
  std::optional<std::size_t> total;
  bool drawing = false;
  bool unicode = false;
  bool finished = false;
  bool emitted = false;  // the first update draws at once
  int fallback_columns = kDefaultColumns;
  Clock::time_point start{};
  Clock::time_point last_emit{};
  Clock::time_point last_sample{};
  std::size_t sampled_done = 0;
  std::size_t done = 0;
  std::size_t failed = 0;
  RateEma ema{};

  Clock::time_point now() const { return opts.clock ? opts.clock() : Clock::now(); }

  // Draws (if drawing) and calls back with the state at `t`. Only the callback may throw.
  void emit(Clock::time_point t, bool final) {
    emitted = true;
    last_emit = t;
    const double elapsed = std::chrono::duration<double>(t - start).count();
    double rate;
    if (final) {
      rate = elapsed > 0 ? static_cast<double>(done) / elapsed : 0;
    } else {
      const double dt = std::chrono::duration<double>(t - last_sample).count();
      if (done > sampled_done && dt > 0) {
        ema.add(static_cast<double>(done - sampled_done), dt);
        sampled_done = done;
        last_sample = t;
        rate = ema.rate();
      } else {
        rate = ema.rate_after_idle(dt);
      }
    }
    if (drawing) draw(elapsed, rate, final);
    if (opts.callback) {
      Progress p;
      p.done = done;
      p.failed = failed;
      p.total = total;
      p.elapsed = std::chrono::duration<double>(elapsed);
      p.rate = rate;
      if (total && rate > 0 && done <= *total) {
        p.eta = std::chrono::duration<double>(static_cast<double>(*total - done) / rate);
      }
      opts.callback(p);
    }
  }

  void draw(double elapsed, double rate, bool final) noexcept {
    try {
      const int width = sys::terminal_columns(opts.fd).value_or(fallback_columns);
      BarLine line{done, total, elapsed, rate, failed, width, unicode, opts.desc};
      std::string text = format_bar(line);
      // Erase what a longer earlier line left, unless this one fills the row: at the last column
      // the cursor waits to wrap, and an erase there would eat the line's last character.
      const bool fills = columns(text) >= static_cast<std::size_t>(width);
      std::string out;
      out.reserve(text.size() + 8);
      out += '\r';
      out += text;
      if (!fills) out += "\x1b[K";
      if (final) out += '\n';
      sys::write_all(opts.fd, out);
    } catch (...) {
      drawing = false;  // a closed terminal or pipe: stop drawing, let the map go on
    }
  }
};

ProgressBar::ProgressBar(ProgressBarOptions opts, std::optional<std::size_t> total)
    : state_(std::make_unique<State>()) {
  State& s = *state_;
  s.opts = std::move(opts);
  s.total = total;
  const char* env = std::getenv("MPROC_PROGRESS");
  const std::string_view mode = env ? env : "";
  s.drawing =
      s.opts.enabled && mode != "0" && (s.opts.force || mode == "1" || sys::is_terminal(s.opts.fd));
  if (s.drawing) {
    s.unicode = utf8_locale(std::getenv("LC_ALL"), std::getenv("LC_CTYPE"), std::getenv("LANG"));
    if (const char* c = std::getenv("COLUMNS")) {
      long v = std::strtol(c, nullptr, 10);
      if (v > 0 && v < 100000) s.fallback_columns = static_cast<int>(v);
    }
  }
  s.start = s.last_sample = s.now();
}

ProgressBar::ProgressBar(ProgressBar&&) noexcept = default;

ProgressBar& ProgressBar::operator=(ProgressBar&& o) noexcept {
  if (this != &o) {
    finish(false);
    state_ = std::move(o.state_);
  }
  return *this;
}

ProgressBar::~ProgressBar() { finish(false); }

void ProgressBar::update(std::size_t done, std::size_t failed) {
  if (!state_ || state_->finished) return;
  State& s = *state_;
  s.done = std::max(done, s.done);
  s.failed = std::max(failed, s.failed);
  if (!s.drawing && !s.opts.callback) return;
  const auto t = s.now();
  if (s.emitted && t - s.last_emit < kMinInterval) return;
  s.emit(t, false);
}

void ProgressBar::finish(bool /*ok: the line ends the same way either way*/) noexcept {
  if (!state_ || state_->finished) return;
  State& s = *state_;
  s.finished = true;
  if (!s.drawing && !s.opts.callback) return;
  try {
    s.emit(s.now(), true);
  } catch (...) {
    // The callback's exception: the map is over, nowhere to send it (documented).
  }
}

bool ProgressBar::drawing() const noexcept { return state_ && state_->drawing; }

}  // namespace mproc::detail
