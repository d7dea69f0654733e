// mproc/wait.hpp — mproc::wait: block until any of several connections or processes is ready,
// as Python's multiprocessing.connection.wait.
//
//   auto [a, b] = mproc::Pipe<int>();  mproc::Process p(work);  p.start();
//   auto ready = mproc::wait({a, p}, std::chrono::seconds(1));    // indices: {}, {0}, {1}, {0, 1}
//   for (std::size_t i : ready) ...                                  // 0: a.recv() won't block
//
// Objects (mproc::Waitable, implicitly made from each):
//  - anything with `int fileno() const` — a Connection: ready when a recv() would not block
//    (a message is there, or the peer is gone and recv() throws EOFError);
//  - anything with `int sentinel() const` — a Process: ready when the child has ended;
//  - a raw fd (int): ready when readable, hung up or in error.
// timeout: absent or std::nullopt waits forever; <= 0 just looks. Returns the indices of the
// ready objects, ascending; empty on timeout. Signals (EINTR) do not shorten or end the wait.
//
// Threads/fork: wait() keeps no state; it only reads the objects' fds, so an object must not be
// closed by another thread during the call. A closed object (fileno() throws) or a closed fd
// throws Error / SystemError("ppoll: Bad file descriptor").
#pragma once

#include <chrono>
#include <concepts>
#include <cstddef>
#include <initializer_list>
#include <optional>
#include <ranges>
#include <span>
#include <type_traits>
#include <vector>

namespace mproc {

template <class T>
concept HasFileno = requires(const T& t) {
  { t.fileno() } -> std::convertible_to<int>;
};

template <class T>
concept HasSentinel = requires(const T& t) {
  { t.sentinel() } -> std::convertible_to<int>;
};

// One object to wait on: an fd, and whether it is ready already without looking at the fd
// (a Connection whose buffer holds bytes it has already read).
class Waitable {
 public:
  Waitable(int fd) noexcept : fd_(fd) {}  // NOLINT(google-explicit-constructor)
  template <class C>
  requires HasFileno<C> Waitable(const C& c)  // NOLINT(google-explicit-constructor)
      : fd_(c.fileno()), ready_now_(buffered(c)) {}
  template <class P>
  requires(HasSentinel<P> && !HasFileno<P>) Waitable(const P& p)
      : fd_(p.sentinel()) {}  // NOLINT(google-explicit-constructor)

  [[nodiscard]] int fd() const noexcept { return fd_; }
  [[nodiscard]] bool ready_now() const noexcept { return ready_now_; }

 private:
  template <class C>
  static bool buffered(const C& c) {
    if constexpr (requires {
                    { c.has_buffered_data() } -> std::convertible_to<bool>;
                  }) {
      return c.has_buffered_data();
    } else {
      return false;
    }
  }

  int fd_;
  bool ready_now_ = false;
};

[[nodiscard]] std::vector<std::size_t> wait(
    std::span<const Waitable> objects,
    std::optional<std::chrono::nanoseconds> timeout = std::nullopt);

[[nodiscard]] inline std::vector<std::size_t> wait(
    std::initializer_list<Waitable> objects,
    std::optional<std::chrono::nanoseconds> timeout = std::nullopt) {
  return wait(std::span<const Waitable>(objects.begin(), objects.size()), timeout);
}

// Any input range whose elements (or what they point to: a range of pointers works too) are
// Waitable, e.g. std::vector<Connection<T>> or std::vector<Process*>.
template <std::ranges::input_range R>
requires(!std::convertible_to<R, std::span<const Waitable>>)
    [[nodiscard]] std::vector<std::size_t> wait(
        R&& objects, std::optional<std::chrono::nanoseconds> timeout = std::nullopt) {
  std::vector<Waitable> ws;
  for (auto&& o : objects) {
    if constexpr (std::is_pointer_v<std::remove_cvref_t<decltype(o)>>) {
      ws.emplace_back(*o);
    } else {
      ws.emplace_back(o);
    }
  }
  return wait(std::span<const Waitable>(ws), timeout);
}

}  // namespace mproc
