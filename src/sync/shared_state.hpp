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

#include "mproc/detail/timeout.hpp"
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

}  // namespace mproc::detail
