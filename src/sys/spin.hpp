// Spinning on shared memory: the CPU hint inside a spin loop, and the store-load fence of the
// "announce that I sleep, then look once more" / "publish, then look whether it sleeps" pairs
// that the pool's channels and the queue's ring use before they fall back to a futex.
#pragma once

#include <atomic>

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

}  // namespace mproc::sys
