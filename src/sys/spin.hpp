// Spinning on shared memory: the CPU hint inside a spin loop, and the store-load fence of the
// "announce that I sleep, then look once more" / "publish, then look whether it sleeps" pairs
// that the pool's channels and the queue's ring use before they fall back to a futex.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>

#include "sys/futex.hpp"

namespace mproc::sys {

#if defined(__SANITIZE_THREAD__)
#define MPROC_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define MPROC_TSAN 1
#endif
#endif

// Inside a spin loop: tells the CPU we are waiting (and lets a sibling hyperthread run).
inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

// A full (store-load) fence between this process and another one sharing the memory: the
// "announce I sleep, then look once more" / "publish, then look whether it sleeps" pairs need
// it. ThreadSanitizer does not model fences (and cannot see the other process anyway), so its
// builds use the instruction directly.
inline void full_fence() noexcept {
#if defined(MPROC_TSAN) && (defined(__x86_64__) || defined(__i386__))
  asm volatile("mfence" ::: "memory");
#elif defined(MPROC_TSAN) && defined(__aarch64__)
  asm volatile("dmb ish" ::: "memory");
#else
  std::atomic_thread_fence(std::memory_order_seq_cst);
#endif
}

// How long a waiter should spin before it sleeps, learned from how long its recent waits lasted.
// A spin pays only when the answer comes within it; on a machine with more runnable processes
// than cores (many workers, other load) the one who would answer is not even running, every
// wait is long, and each spin only takes a core from it. So: spin the full `limit` while the
// recent waits average under it, else sleep at once — and still spin on every 8th wait, so that
// waits turning short again are seen. One waiter's state: not thread-safe.
class AdaptiveSpin {
 public:
  explicit AdaptiveSpin(std::chrono::nanoseconds limit) noexcept : limit_(limit.count()) {}

  // How long to spin before sleeping on this wait: `limit` or zero.
  [[nodiscard]] std::chrono::nanoseconds budget() noexcept {
    ++waits_;
    const bool probe = (waits_ & 7) == 0;
    return std::chrono::nanoseconds(average_ < limit_ || probe ? limit_ : 0);
  }
  // How long the wait lasted, from its start to the answer (spin and sleep together). A long
  // wait counts as twice the limit, so that a few short ones bring the spin back.
  void record(std::chrono::nanoseconds waited) noexcept {
    const std::int64_t w = std::min<std::int64_t>(waited.count(), 2 * limit_);
    average_ = (3 * average_ + w) / 4;
  }

 private:
  std::int64_t limit_;
  std::int64_t average_ = 0;
  std::uint32_t waits_ = 0;
};

// The sleeping half of spin-then-sleep: announce on `sleeping`, look at ready() once more, then
// futex-wait on `seq` (at most `timeout`). Spurious returns are fine: the caller re-checks.
template <class Ready>
void sleep_unless(std::atomic<std::uint32_t>& sleeping, std::atomic<std::uint32_t>& seq,
                  Ready ready, std::optional<std::chrono::nanoseconds> timeout) {
  const std::uint32_t s = seq.load(std::memory_order_acquire);
  sleeping.store(1, std::memory_order_relaxed);
  full_fence();
  if (!ready()) futex_wait(seq, s, timeout);
  sleeping.store(0, std::memory_order_relaxed);
}

// The waking half: after making progress, wake up to `count` waiters on `seq` — only if a sleeper
// announced itself, so the common case costs a fence and a load, no system call.
inline void wake_sleeper(std::atomic<std::uint32_t>& sleeping, std::atomic<std::uint32_t>& seq,
                         int count = 1) noexcept {
  full_fence();  // pairs with the fence in sleep_unless()
  if (sleeping.load(std::memory_order_relaxed) != 0) {
    sleeping.store(0, std::memory_order_relaxed);
    seq.fetch_add(1, std::memory_order_release);
    futex_wake(seq, count);
  }
}

}  // namespace mproc::sys
