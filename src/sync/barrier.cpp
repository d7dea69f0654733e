#include "mproc/barrier.hpp"

#include <atomic>
#include <climits>
#include <cstdint>

#include "handle/wire.hpp"
#include "mproc/detail/handle.hpp"
#include "sync/shared_state.hpp"
#include "sys/futex.hpp"
#include "sys/robust_mutex.hpp"

namespace mproc {

namespace detail {
// word (the futex word): generation << 1 | broken bit. A generation ends by completing (word
// moves to the next generation) or by reset() (same, and its bit in reset_gens is set, so its
// waiters know to throw). Sleepers wait on word, so every change wakes them.
struct BarrierState {
  explicit BarrierState(std::uint32_t n) : parties(n) {}
  sys::RobustMutex mutex{false};
  std::atomic<std::uint32_t> word{0};
  // Bit g % 64: generation g ended by reset(). 64 generations cannot pass while one of its own
  // parties still waits to read its bit (short of more processes than parties racing through).
  std::atomic<std::uint64_t> reset_gens{0};
  std::atomic<std::uint32_t> arrived{0};
  std::uint32_t parties;
};
}  // namespace detail

namespace {
constexpr std::uint32_t kBroken = 1;
constexpr std::uint64_t gen_bit(std::uint32_t word) {
  return std::uint64_t{1} << ((word >> 1) % 64);
}

// Holds the barrier's lock. A holder that died mid-update may have left the counts wrong: the
// barrier is broken then.
class Guard {
 public:
  explicit Guard(detail::BarrierState& s) : s_(s) {
    if (s_.mutex.lock(std::nullopt) == sys::RobustMutex::Result::owner_died) break_locked();
  }
  ~Guard() { (void)s_.mutex.unlock(); }
  Guard(const Guard&) = delete;
  Guard& operator=(const Guard&) = delete;
  void break_locked() noexcept {
    s_.word.fetch_or(kBroken);
    sys::futex_wake(s_.word, INT_MAX);
  }

 private:
  detail::BarrierState& s_;
};
}  // namespace

namespace {
std::uint32_t checked_parties(std::uint32_t parties) {
  if (parties == 0) throw Error("Barrier: parties must be at least 1");
  return parties;
}
}  // namespace

Barrier::Barrier(std::uint32_t parties)
    : memory_(detail::state_memory<detail::BarrierState>("mproc-barrier")),
      state_(detail::construct_state<detail::BarrierState>(memory_, checked_parties(parties))) {}

std::uint32_t Barrier::wait_ns(std::chrono::nanoseconds timeout) {
  auto& s = *state_;
  const auto deadline = detail::deadline_after(timeout);
  std::uint32_t mine = 0;  // the word of the generation we joined
  std::uint32_t index = 0;
  {
    Guard g(s);
    mine = s.word.load();
    if (mine & kBroken) throw BrokenBarrierError();
    index = s.arrived.fetch_add(1);
    if (index + 1 == s.parties) {
      s.arrived.store(0);
      s.reset_gens.fetch_and(~gen_bit(mine + 2));
      s.word.store(mine + 2);
      sys::futex_wake(s.word, INT_MAX);
      return index;
    }
  }
  for (;;) {
    const std::uint32_t w = s.word.load();
    if ((w >> 1) != (mine >> 1)) {
      if (s.reset_gens.load() & gen_bit(mine)) throw BrokenBarrierError();
      return index;
    }
    if (w & kBroken) throw BrokenBarrierError();
    const auto left = detail::time_left(deadline);
    if (left && left->count() == 0) {
      Guard g(s);
      if ((s.word.load() >> 1) == (mine >> 1)) {
        g.break_locked();
        throw BrokenBarrierError();
      }
      continue;  // the generation ended just now: see how
    }
    sys::futex_wait(s.word, w, left);
  }
}

void Barrier::abort() {
  Guard g(*state_);
  g.break_locked();
}

void Barrier::reset() {
  auto& s = *state_;
  Guard g(s);
  const std::uint32_t w = s.word.load();
  if (s.arrived.load() != 0) s.reset_gens.fetch_or(gen_bit(w));
  s.reset_gens.fetch_and(~gen_bit(w + 2));
  s.arrived.store(0);
  s.word.store((w | kBroken) + 1);  // next generation, not broken
  sys::futex_wake(s.word, INT_MAX);
}

std::uint32_t Barrier::parties() const noexcept { return state_->parties; }
std::uint32_t Barrier::n_waiting() const noexcept { return state_->arrived.load(); }
bool Barrier::broken() const noexcept { return (state_->word.load() & kBroken) != 0; }

namespace detail {

ExportedHandle HandleTraits<Barrier>::export_of(const Barrier& b) {
  return HandleWriter(HandleKind::barrier).memory(b.memory_).finish();
}

Barrier HandleTraits<Barrier>::import_from(std::span<const std::byte> bytes,
                                           std::span<UniqueFd> fds) {
  HandleReader reader(bytes, fds, HandleKind::barrier, "Barrier");
  auto [memory, state] = import_sole_state<BarrierState>(reader);
  return Barrier(std::move(memory), state);
}

}  // namespace detail

}  // namespace mproc
