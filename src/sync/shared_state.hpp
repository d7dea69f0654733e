// The state of a synchronization object: one small anonymous MAP_SHARED mapping made at
// construction, shared by the object's copies (shared_ptr) and by forked children (inherited).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <new>
#include <optional>
#include <type_traits>
#include <utility>

#include "sys/memory.hpp"

namespace mproc::detail {

// Constructs T in a new shared mapping; the returned pointer owns the mapping.
template <class T, class... Args>
[[nodiscard]] std::shared_ptr<T> make_shared_state(Args&&... args) {
  static_assert(std::is_standard_layout_v<T>);
  auto mapping = std::make_shared<sys::SharedMapping>(sizeof(T));
  T* state = new (mapping->data()) T(std::forward<Args>(args)...);
  // No ~T(): another process may still use the state; unmapping is the only cleanup.
  return std::shared_ptr<T>(std::move(mapping), state);
}

// Counts the caller among `waiters` for its lifetime (so wakers skip the syscall when no one
// sleeps).
class WaiterCount {
 public:
  explicit WaiterCount(std::atomic<std::uint32_t>& waiters) : waiters_(waiters) {
    waiters_.fetch_add(1);
  }
  ~WaiterCount() { waiters_.fetch_sub(1); }
  WaiterCount(const WaiterCount&) = delete;
  WaiterCount& operator=(const WaiterCount&) = delete;

 private:
  std::atomic<std::uint32_t>& waiters_;
};

using Deadline = std::optional<std::chrono::steady_clock::time_point>;

// nanoseconds::max() (from to_timeout_ns) means no deadline; so does anything past ~30 years,
// which now() + timeout could not hold.
[[nodiscard]] inline Deadline deadline_after(std::chrono::nanoseconds timeout) {
  if (timeout >= std::chrono::nanoseconds(1'000'000'000'000'000'000)) return std::nullopt;
  return std::chrono::steady_clock::now() + timeout;
}

// Time left until deadline (nullopt: forever); zero once it has passed.
[[nodiscard]] inline std::optional<std::chrono::nanoseconds> time_left(Deadline deadline) {
  if (!deadline) return std::nullopt;
  const auto left = *deadline - std::chrono::steady_clock::now();
  return left.count() > 0 ? std::chrono::duration_cast<std::chrono::nanoseconds>(left)
                          : std::chrono::nanoseconds::zero();
}

}  // namespace mproc::detail
