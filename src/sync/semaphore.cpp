#include "mproc/semaphore.hpp"

#include <atomic>
#include <climits>
#include <cstdint>
#include <limits>
#include <string>

#include "handle/wire.hpp"
#include "mproc/detail/handle.hpp"
#include "mproc/error.hpp"
#include "sync/shared_state.hpp"
#include "sys/futex.hpp"

namespace mproc {

namespace detail {
// count: the futex word. waiters: how many may sleep (skips the wake syscall when none do; a
// waiter killed while waiting leaves it too high, which only costs release() a syscall).
struct SemaphoreState {
  SemaphoreState(std::uint32_t value, std::uint32_t max) : count(value), bound(max) {}
  std::atomic<std::uint32_t> count;
  std::atomic<std::uint32_t> waiters{0};
  std::uint32_t bound;
};
}  // namespace detail

Semaphore::Semaphore(std::uint32_t value)
    : Semaphore(value, std::numeric_limits<std::uint32_t>::max()) {}

Semaphore::Semaphore(std::uint32_t value, std::uint32_t bound)
    : memory_(detail::state_memory<detail::SemaphoreState>("mproc-semaphore")),
      state_(detail::construct_state<detail::SemaphoreState>(memory_, value, bound)) {}

bool Semaphore::try_acquire() noexcept {
  auto& count = state_->count;
  std::uint32_t c = count.load();
  while (c != 0) {
    if (count.compare_exchange_weak(c, c - 1)) return true;
  }
  return false;
}

void Semaphore::acquire() { (void)acquire_for(std::chrono::nanoseconds::max()); }

bool Semaphore::acquire_for(std::chrono::nanoseconds timeout) {
  if (try_acquire()) return true;
  if (timeout.count() <= 0) return false;
  auto& s = *state_;
  const auto deadline = detail::deadline_after(timeout);
  const detail::WaiterCount counted(s.waiters);
  for (;;) {
    // waiters was raised before this look (seq_cst), so a release() that this look misses sees
    // a waiter and wakes us.
    if (try_acquire()) return true;
    const auto left = detail::time_left(deadline);
    if (left && left->count() == 0) return false;
    sys::futex_wait(s.count, 0, left);
  }
}

void Semaphore::release(std::uint32_t n) {
  auto& s = *state_;
  std::uint32_t c = s.count.load();
  do {
    if (n > s.bound || c > s.bound - n) {
      throw Error("Semaphore::release: the count would exceed its bound of " +
                  std::to_string(s.bound));
    }
  } while (!s.count.compare_exchange_weak(c, c + n));
  // Wake them all, not n: a woken waiter killed before it takes its unit would otherwise strand
  // the unit while others sleep on.
  if (s.waiters.load() != 0) sys::futex_wake(s.count, INT_MAX);
}

std::uint32_t Semaphore::get_value() const noexcept { return state_->count.load(); }

namespace detail {

ExportedHandle HandleTraits<Semaphore>::export_of(const Semaphore& s) {
  return HandleWriter(HandleKind::semaphore).memory(s.memory_).finish();
}

Semaphore HandleTraits<Semaphore>::import_from(std::span<const std::byte> bytes,
                                               std::span<UniqueFd> fds) {
  HandleReader reader(bytes, fds, HandleKind::semaphore, "Semaphore");
  auto [memory, state] = import_sole_state<SemaphoreState>(reader);
  return Semaphore(std::move(memory), state);
}

ExportedHandle HandleTraits<BoundedSemaphore>::export_of(const BoundedSemaphore& s) {
  return HandleWriter(HandleKind::semaphore).memory(s.memory_).finish();
}

BoundedSemaphore HandleTraits<BoundedSemaphore>::import_from(std::span<const std::byte> bytes,
                                                             std::span<UniqueFd> fds) {
  HandleReader reader(bytes, fds, HandleKind::semaphore, "BoundedSemaphore");
  auto [memory, state] = import_sole_state<SemaphoreState>(reader);
  if (state->bound == std::numeric_limits<std::uint32_t>::max()) {
    reader.fail("the semaphore passed is not bounded");
  }
  return BoundedSemaphore(std::move(memory), state);
}

}  // namespace detail

}  // namespace mproc
