// Anchor: the floor for a cross-process wake-up round trip — two processes ping-pong a counter
// in a MAP_SHARED word with FUTEX_WAIT / FUTEX_WAKE (shared, not private, futex ops).
//   raw_futex_sleep: the waiter goes straight to sleep (every hop is a kernel wake-up);
//   raw_futex_spin:  the waiter spins up to ~20 us first, sleeping only after that.
// The waker skips FUTEX_WAKE when nobody sleeps, as a real lock does.
#include <benchmark/benchmark.h>
#include <linux/futex.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <climits>
#include <cstdint>
#include <new>

namespace {

struct Shared {
  std::atomic<std::uint32_t> seq{0};  // odd: the child's turn; even: the parent's
  std::atomic<std::uint32_t> sleepers{0};
};
constexpr std::uint32_t kStop = UINT32_MAX;

void futex_wait(std::atomic<std::uint32_t>* word, std::uint32_t expected) {
  ::syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(word), FUTEX_WAIT, expected, nullptr,
            nullptr, 0);
}

void futex_wake(std::atomic<std::uint32_t>* word) {
  ::syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(word), FUTEX_WAKE, INT_MAX, nullptr,
            nullptr, 0);
}

// Waits until seq leaves `seen`; returns its new value.
std::uint32_t await_change(Shared& s, std::uint32_t seen, bool spin) {
  if (spin) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::microseconds(20);
    for (unsigned i = 0;; ++i) {
      if (auto v = s.seq.load(); v != seen) return v;
      __builtin_ia32_pause();
      if (i % 64 == 63 && std::chrono::steady_clock::now() > deadline) break;
    }
  }
  for (;;) {
    s.sleepers.fetch_add(1);
    futex_wait(&s.seq, seen);
    s.sleepers.fetch_sub(1);
    if (auto v = s.seq.load(); v != seen) return v;
  }
}

void publish(Shared& s, std::uint32_t v) {
  s.seq.store(v);
  if (s.sleepers.load() != 0) futex_wake(&s.seq);
}

void futex_pingpong(benchmark::State& state, bool spin) {
  void* mem =
      ::mmap(nullptr, sizeof(Shared), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED) {
    state.SkipWithError("mmap failed");
    return;
  }
  auto& s = *new (mem) Shared;
  pid_t pid = ::fork();
  if (pid == 0) {
    std::uint32_t seen = 0;
    for (;;) {
      seen = await_change(s, seen, spin);
      if (seen == kStop) ::_exit(0);
      publish(s, ++seen);
    }
  }
  std::uint32_t seq = 0;
  for (auto _ : state) {
    publish(s, ++seq);
    seq = await_change(s, seq, spin);
  }
  publish(s, kStop);
  ::waitpid(pid, nullptr, 0);
  ::munmap(mem, sizeof(Shared));
}

void BM_raw_futex_sleep(benchmark::State& state) { futex_pingpong(state, false); }
void BM_raw_futex_spin(benchmark::State& state) { futex_pingpong(state, true); }
BENCHMARK(BM_raw_futex_sleep)->Name("pool_apply/raw_futex_sleep")->UseRealTime();
BENCHMARK(BM_raw_futex_spin)->Name("pool_apply/raw_futex_spin")->UseRealTime();

}  // namespace
