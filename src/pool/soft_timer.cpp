#include "pool/soft_timer.hpp"

#include <utility>

#include "mproc/error.hpp"
#include "mproc/soft_timeout.hpp"

namespace mproc {
namespace {
// The worker's timer, set once before its first item (never in the parent).
std::atomic<pool::SoftTimer*> g_timer{nullptr};
}  // namespace

bool stop_requested() noexcept {
  const auto* t = g_timer.load(std::memory_order_acquire);
  return t != nullptr && t->requested();
}

void throw_if_stop_requested() {
  const auto* t = g_timer.load(std::memory_order_acquire);
  if (t == nullptr || !t->requested()) return;
  // The pool rebuilds the error the parent sees with the worker's pid and the item's index.
  throw TaskTimeout(TaskTimeout::Info{TimeoutLimit::soft, t->limit(), 0, 0,
                                      "mproc::TaskTimeout: stop requested", {}});
}

namespace detail {
std::stop_token current_stop_token() noexcept {
  const auto* t = g_timer.load(std::memory_order_acquire);
  return t != nullptr ? t->token() : std::stop_token{};
}
}  // namespace detail

namespace pool {

SoftTimer::SoftTimer(std::chrono::milliseconds limit) : limit_(limit) {
  thread_ = std::thread([this] { loop(); });
  g_timer.store(this, std::memory_order_release);
}

SoftTimer::~SoftTimer() {
  g_timer.store(nullptr, std::memory_order_release);
  {
    std::lock_guard lk(mu_);
    quit_ = true;
  }
  cv_.notify_one();
  thread_.join();
}

void SoftTimer::begin_item() {
  bool wake = false;
  {
    std::lock_guard lk(mu_);
    requested_.store(false, std::memory_order_relaxed);
    deadline_ = Clock::now() + limit_;
    wake = idle_;
  }
  if (wake) cv_.notify_one();
}

std::stop_token SoftTimer::token() const noexcept {
  std::lock_guard lk(mu_);
  return requested_.load(std::memory_order_relaxed) ? stopped_.get_token() : source_.get_token();
}

void SoftTimer::end_item() noexcept {
  std::lock_guard lk(mu_);
  deadline_.reset();  // the thread, if it waits for the old deadline, finds nothing then
}

void SoftTimer::loop() {
  std::unique_lock lk(mu_);
  while (!quit_) {
    if (!deadline_) {
      idle_ = true;
      cv_.wait(lk);
      idle_ = false;
      continue;
    }
    if (Clock::now() < *deadline_) {
      cv_.wait_until(lk, *deadline_);
      continue;
    }
    deadline_.reset();
    requested_.store(true, std::memory_order_release);
    // A stopped source cannot be reset: the next item gets a fresh one.
    stopped_ = std::exchange(source_, std::stop_source());
    std::stop_source s = stopped_;
    // The task's stop_callbacks run here: without the lock, so one may take its time.
    lk.unlock();
    s.request_stop();
    lk.lock();
  }
}

}  // namespace pool
}  // namespace mproc
