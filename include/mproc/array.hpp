// mproc/array.hpp — Array<T>: n Ts in shared memory with one lock (Python's
// multiprocessing.Array).
//
//   mproc::Array<double> sums(8);   // value-initialised: eight 0.0
//   pool.map(work, ...);            // workers write sums[i] (under sums.get_lock() if shared)
//   double total = std::accumulate(sums.begin(), sums.end(), 0.0);
//
// T is trivially copyable (raw bytes in shared memory). The size is fixed at construction.
// Element access is unsynchronised, as in C: take get_lock() (recursive, robust) or use
// disjoint elements or atomics (std::atomic_ref) when several processes write.
// Copies of an Array share the same elements and lock (a sealed memfd mapping, freed with its
// last user). Like std::span, const access still yields writable elements.
// Across fork: a child (Process, Pool worker) sees the same elements and lock. Across exec: a
// process it is exported to (mproc/detail/handle.hpp) maps the same elements and lock.
// Peer death: a holder that dies leaves the lock to the next acquirer with mproc::OwnerDied
// (see detail/robust_mutex.hpp).
#pragma once

#include <concepts>
#include <cstddef>
#include <memory>
#include <span>
#include <type_traits>
#include <utility>

#include "mproc/detail/locked_segment.hpp"
#include "mproc/detail/robust_mutex.hpp"

namespace mproc {

namespace detail {
template <class T>
struct HandleTraits;  // mproc/detail/handle.hpp
}  // namespace detail

template <class T>
class Array {
  static_assert(std::is_trivially_copyable_v<T>,
                "mproc::Array<T> needs a trivially copyable T: it lives as raw bytes in shared "
                "memory");
  static_assert(alignof(T) <= 4096, "mproc::Array<T>: T aligned beyond a page");

 public:
  using value_type = T;
  using size_type = std::size_t;
  using iterator = T*;
  using lock_type = detail::RobustMutex;

  // n value-initialised elements (zero for arithmetic types).
  explicit Array(std::size_t n) requires std::default_initializable<T>
      : segment_(n, sizeof(T), alignof(T)), data_(static_cast<T*>(segment_.payload())), size_(n) {
    std::uninitialized_value_construct_n(data_, n);
  }
  // n copies of fill.
  Array(std::size_t n, const T& fill)
      : segment_(n, sizeof(T), alignof(T)), data_(static_cast<T*>(segment_.payload())), size_(n) {
    std::uninitialized_fill_n(data_, n, fill);
  }

  [[nodiscard]] std::size_t size() const noexcept { return size_; }
  [[nodiscard]] bool empty() const noexcept { return size_ == 0; }
  [[nodiscard]] T& operator[](std::size_t i) const noexcept { return data_[i]; }
  [[nodiscard]] T* data() const noexcept { return data_; }
  [[nodiscard]] T* begin() const noexcept { return data_; }
  [[nodiscard]] T* end() const noexcept { return data_ + size_; }
  [[nodiscard]] std::span<T> span() const noexcept { return {data_, size_}; }

  [[nodiscard]] lock_type& get_lock() const noexcept { return segment_.mutex(); }

 private:
  template <class U>
  friend struct detail::HandleTraits;
  Array(detail::LockedSegment segment, std::size_t n)
      : segment_(std::move(segment)), data_(static_cast<T*>(segment_.payload())), size_(n) {}

  detail::LockedSegment segment_;
  T* data_;
  std::size_t size_;
};

}  // namespace mproc
