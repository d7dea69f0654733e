#include "pool/progress_session.hpp"

namespace mproc::pool {
namespace {

using Clock = std::chrono::steady_clock;

// Callback only (the terminal bar arrives with progress_bar.hpp).
class CallbackSession final : public ProgressSession {
 public:
  CallbackSession(ProgressCallback cb, std::optional<std::size_t> total)
      : cb_(std::move(cb)), total_(total) {}
  void update(std::size_t done, std::size_t failed) override {
    const auto now = Clock::now();
    if (done == last_done_ && failed == last_failed_) return;
    if (now - last_ < std::chrono::milliseconds(100) && !(total_ && done == *total_)) return;
    report(now, done, failed);
  }
  void finish(bool) noexcept override {
    try {
      report(Clock::now(), last_done_, last_failed_);
    } catch (...) {
    }
  }

 private:
  void report(Clock::time_point now, std::size_t done, std::size_t failed) {
    const double dt = std::chrono::duration<double>(now - last_).count();
    if (dt > 0 && done > last_done_) {
      const double inst = static_cast<double>(done - last_done_) / dt;
      rate_ = rate_ == 0 ? inst : 0.3 * inst + 0.7 * rate_;
    }
    last_ = now;
    last_done_ = done;
    last_failed_ = failed;
    Progress p;
    p.done = done;
    p.failed = failed;
    p.total = total_;
    p.elapsed = now - start_;
    p.rate = rate_;
    if (total_ && rate_ > 0) {
      p.eta = std::chrono::duration<double>(static_cast<double>(*total_ - done) / rate_);
    }
    cb_(p);
  }
  ProgressCallback cb_;
  std::optional<std::size_t> total_;
  Clock::time_point start_ = Clock::now();
  Clock::time_point last_ = start_;
  std::size_t last_done_ = 0, last_failed_ = 0;
  double rate_ = 0;
};

}  // namespace

std::unique_ptr<ProgressSession> ProgressSession::make(const PoolOptions& options,
                                                       std::optional<std::size_t> total) {
  if (!options.progress_callback) return nullptr;
  return std::make_unique<CallbackSession>(options.progress_callback, total);
}

}  // namespace mproc::pool
