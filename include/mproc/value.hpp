// mproc/value.hpp — Value<T>: one T in shared memory with its own lock (Python's
// multiprocessing.Value).
//
//   mproc::Value<long> hits(0);
//   mproc::Process p([&] { std::lock_guard g(hits.get_lock()); hits.store(hits.load() + 1); });
//   p.start(); p.join();  // hits.load() == 1
//
// T is trivially copyable (it is raw bytes in shared memory). load() and store() take the lock;
// get_lock() returns it — recursive, so a holder may call load()/store(). get_obj() is the T
// itself, unsynchronised.
// Copies of a Value share the same T and lock (a sealed memfd mapping, freed with its last user;
// a process it is exported to, mproc/detail/handle.hpp, maps the same T and lock).
// Across threads and processes: load()/store() and the lock are safe; get_obj() is raw memory.
// Across fork: a child (Process, Pool worker) sees the same T and lock.
// Peer death: a holder that dies leaves the lock to the next acquirer with mproc::OwnerDied
// (see detail/robust_mutex.hpp); load()/store() then throw OwnerDied with the lock released.
#pragma once

#include <concepts>
#include <mutex>
#include <new>
#include <type_traits>
#include <utility>

#include "mproc/detail/locked_segment.hpp"
#include "mproc/detail/robust_mutex.hpp"
#include "mproc/error.hpp"

namespace mproc {

namespace detail {
template <class T>
struct HandleTraits;  // mproc/detail/handle.hpp
}  // namespace detail

template <class T>
class Value {
  static_assert(std::is_trivially_copyable_v<T>,
                "mproc::Value<T> needs a trivially copyable T: it lives as raw bytes in shared "
                "memory");
  static_assert(alignof(T) <= 4096, "mproc::Value<T>: T aligned beyond a page");

 public:
  using value_type = T;
  using lock_type = detail::RobustMutex;

  Value() requires std::default_initializable<T> : Value(T{}) {}
  explicit Value(const T& init)
      : segment_(1, sizeof(T), alignof(T)), obj_(::new (segment_.payload()) T(init)) {}

  [[nodiscard]] T load() const {
    std::lock_guard guard(acquire(), std::adopt_lock);
    return *obj_;
  }
  void store(const T& v) const {
    std::lock_guard guard(acquire(), std::adopt_lock);
    *obj_ = v;
  }

  [[nodiscard]] lock_type& get_lock() const noexcept { return segment_.mutex(); }
  [[nodiscard]] T& get_obj() const noexcept { return *obj_; }

 private:
  template <class U>
  friend struct detail::HandleTraits;
  explicit Value(detail::LockedSegment segment)
      : segment_(std::move(segment)), obj_(std::launder(static_cast<T*>(segment_.payload()))) {}

  // The lock for load()/store(): on OwnerDied it is released before the error propagates.
  lock_type& acquire() const {
    lock_type& m = segment_.mutex();
    try {
      m.lock();
    } catch (const OwnerDied&) {
      m.unlock();
      throw;
    }
    return m;
  }

  detail::LockedSegment segment_;
  T* obj_;
};

}  // namespace mproc
