// The worker side of PoolOptions::soft_timeout: a thread that requests stop on the running item
// once it has run that long. Started only in workers of a pool with a soft_timeout, so a pool
// without one pays nothing; with one, an item costs two uncontended lock/unlock pairs and a clock
// read, and the thread wakes about once per soft_timeout.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <stop_token>
#include <thread>

namespace mproc::pool {

class SoftTimer {
 public:
  // Starts the thread and makes this the process's timer (mproc::stop_requested()).
  explicit SoftTimer(std::chrono::milliseconds limit);
  ~SoftTimer();  // stops and joins the thread
  SoftTimer(const SoftTimer&) = delete;
  SoftTimer& operator=(const SoftTimer&) = delete;

  // Around each item, on the worker's thread.
  void begin_item();
  void end_item() noexcept;
  // The running item's stop was requested (its soft timeout passed).
  [[nodiscard]] bool requested() const noexcept {
    return requested_.load(std::memory_order_acquire);
  }
  // The running item's token.
  [[nodiscard]] std::stop_token token() const noexcept;
  [[nodiscard]] std::chrono::milliseconds limit() const noexcept { return limit_; }

 private:
  using Clock = std::chrono::steady_clock;
  void loop();

  std::chrono::milliseconds limit_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::optional<Clock::time_point> deadline_{};  // the running item's; guarded by mu_
  bool idle_ = false;                            // the thread waits with no deadline
  bool quit_ = false;
  // The running item's source; guarded by mu_. Replaced by a fresh one when its stop is requested.
  std::stop_source source_{};
  std::stop_source stopped_{std::nostopstate};  // the last one stopped (the running item's, if requested_)
  std::atomic<bool> requested_{false};
  std::thread thread_;
};

}  // namespace mproc::pool
