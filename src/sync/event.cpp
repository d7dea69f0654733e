#include "mproc/event.hpp"

#include <atomic>
#include <climits>
#include <cstdint>

#include "handle/wire.hpp"
#include "mproc/detail/handle.hpp"
#include "sync/shared_state.hpp"
#include "sys/futex.hpp"

namespace mproc {

namespace detail {
// word: bit 0 is the flag; the bits above count set() calls, so a waiter can tell that a set
// happened during its sleep even when clear() came before it woke.
// waiters: how many may sleep, to skip the wake-up syscall when none do. A waiter killed while
// waiting leaves it too high, which only costs set() a syscall.
struct EventState {
  std::atomic<std::uint32_t> word{0};
  std::atomic<std::uint32_t> waiters{0};
};
}  // namespace detail

namespace {
constexpr std::uint32_t kSetBit = 1;
}

Event::Event()
    : memory_(detail::state_memory<detail::EventState>("mproc-event")),
      state_(detail::construct_state<detail::EventState>(memory_)) {}

bool Event::is_set() const noexcept { return (state_->word.load() & kSetBit) != 0; }

void Event::set() noexcept {
  auto& word = state_->word;
  std::uint32_t w = word.load();
  do {
    if (w & kSetBit) return;
  } while (!word.compare_exchange_weak(w, (w + 2) | kSetBit));
  if (state_->waiters.load() != 0) sys::futex_wake(word, INT_MAX);
}

void Event::clear() noexcept { state_->word.fetch_and(~kSetBit); }

bool Event::wait() { return wait_for(std::chrono::nanoseconds::max()); }

bool Event::wait_for(std::chrono::nanoseconds timeout) {
  auto& s = *state_;
  const std::uint32_t start = s.word.load();
  if (start & kSetBit) return true;
  const auto deadline = detail::deadline_after(timeout);
  const detail::WaiterCount counted(s.waiters);
  for (;;) {
    const std::uint32_t w = s.word.load();
    // Set now, or set (and maybe cleared) since we started: the count moved on.
    if ((w & kSetBit) || (w >> 1) != (start >> 1)) return true;
    const auto left = detail::time_left(deadline);
    if (left && left->count() == 0) return false;
    sys::futex_wait(s.word, w, left);
  }
}

namespace detail {

ExportedHandle HandleTraits<Event>::export_of(const Event& event) {
  return HandleWriter(HandleKind::event).memory(event.memory_).finish();
}

Event HandleTraits<Event>::import_from(std::span<const std::byte> bytes, std::span<UniqueFd> fds) {
  HandleReader reader(bytes, fds, HandleKind::event, "Event");
  auto [memory, state] = import_sole_state<EventState>(reader);
  return Event(std::move(memory), state);
}

}  // namespace detail

}  // namespace mproc
