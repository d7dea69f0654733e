// Anchor: the floor for a queue of 1 MiB items between two processes — a shared-memory ring of
// eight 1 MiB slots, a forked producer copying each item in (memcpy), this process copying it out
// (memcpy): two copies per item, no codec, no framing. Head and tail are counters in the shared
// page; a side that finds nothing to do spins ~20 us, then sleeps on the counter's (shared) futex,
// and the other side calls FUTEX_WAKE only when somebody sleeps.
#include <benchmark/benchmark.h>
#include <linux/futex.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <climits>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <new>
#include <vector>

namespace {

constexpr std::size_t kBytes = std::size_t{1} << 20;
constexpr std::uint32_t kSlots = 8;

struct Counter {
  alignas(64) std::atomic<std::uint32_t> value{0};
  std::atomic<std::uint32_t> sleepers{0};
};

struct Ring {
  Counter head;  // items produced
  Counter tail;  // items consumed
  std::atomic<bool> stop{false};
  alignas(64) std::byte slots[kSlots][kBytes];
};

void futex(std::atomic<std::uint32_t>* word, int op, std::uint32_t val) {
  ::syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(word), op, val, nullptr, nullptr, 0);
}

// Waits until ready() holds; sleeps on c.value (which the other side bumps) after ~20 us.
template <class Ready>
void await(Counter& c, const std::atomic<bool>& stop, Ready ready) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::microseconds(20);
  for (unsigned i = 0;; ++i) {
    if (ready() || stop.load()) return;
    __builtin_ia32_pause();
    if (i % 64 == 63 && std::chrono::steady_clock::now() > deadline) break;
  }
  for (;;) {
    std::uint32_t seen = c.value.load();
    c.sleepers.fetch_add(1);
    if (!ready() && !stop.load()) futex(&c.value, FUTEX_WAIT, seen);
    c.sleepers.fetch_sub(1);
    if (ready() || stop.load()) return;
  }
}

void bump(Counter& c) {
  c.value.fetch_add(1);
  if (c.sleepers.load() != 0) futex(&c.value, FUTEX_WAKE, INT_MAX);
}

void BM_raw_shm_ring(benchmark::State& state) {
  void* mem =
      ::mmap(nullptr, sizeof(Ring), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED) {
    state.SkipWithError("mmap failed");
    return;
  }
  auto& ring = *new (mem) Ring;
  pid_t pid = ::fork();
  if (pid == 0) {
    std::vector<std::byte> item(kBytes, std::byte{7});
    for (std::uint32_t n = 0;; ++n) {
      await(ring.tail, ring.stop, [&] { return n - ring.tail.value.load() < kSlots; });
      if (ring.stop.load()) ::_exit(0);
      std::memcpy(ring.slots[n % kSlots], item.data(), kBytes);
      bump(ring.head);
    }
  }
  std::vector<std::byte> out(kBytes);
  std::uint32_t n = 0;
  for (auto _ : state) {
    await(ring.head, ring.stop, [&] { return ring.head.value.load() != n; });
    std::memcpy(out.data(), ring.slots[n % kSlots], kBytes);
    benchmark::DoNotOptimize(out.data());
    ++n;
    bump(ring.tail);
  }
  ring.stop.store(true);
  bump(ring.tail);  // wakes a producer asleep on a full ring
  ::waitpid(pid, nullptr, 0);
  ::munmap(mem, sizeof(Ring));
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(kBytes));
}
BENCHMARK(BM_raw_shm_ring)->Name("queue_1mib/raw_shm_ring")->UseRealTime();

}  // namespace
