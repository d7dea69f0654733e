// mproc/worker_state.hpp — an object built once in each Pool worker and handed to every task
// that worker runs, by reference: a parser, a model, a database connection (anything expensive to
// set up or not thread-safe); and worker_id(), the worker's number in its pool.
//
//   Parser make_parser(std::string grammar) { return Parser(grammar); }   // returns the state
//   int parse(std::string line) { return mproc::worker_state<Parser>().parse(line); }
//   mproc::Pool pool(PoolOptions{.worker_state = mproc::WorkerState(make_parser, grammar)});
//   auto trees = pool.map(parse, lines);
//
// WorkerState(factory, args...) stores copies of the factory and its arguments exactly as
// mproc::Initializer does (initializer.hpp: under spawn and forkserver the factory must be a task
// function and each argument transferable or a handle; under fork any callable works). Each
// worker calls factory(args...) once, after the pool's initializer and before its sandbox, and
// keeps the returned T (by value; T need not be transferable nor even movable: it is built in
// the worker and never leaves it). A replacement worker (max_tasks_per_child, a crash, a
// timeout) builds its own. When a worker exits normally (Pool::close/join, recycling) its T is
// destroyed there, after its last task; a worker that is killed (crash, terminate(), timeout)
// runs no destructor. A factory that throws or crashes breaks the pool as a failing initializer
// does: every call fails with mproc::Error naming the factory and its exception.
//
// worker_state<T>() returns the calling worker's T, to any thread of that worker; T must be the
// factory's return type (checked with typeid at each call; mproc::Error otherwise). Using the
// object from several threads at once is the caller's business. worker_id() is the worker's
// number, 0..processes-1: a replacement takes the number of the worker it replaces, so at any
// time the pool's working workers hold distinct numbers (a retiring worker finishing its last
// item may briefly share its number with its replacement). Outside a pool worker worker_id() is
// -1 and worker_state<T>() throws. Across fork: a Process started from a task under fork is a
// copy of the worker and sees the same number and a copy of the state.
#pragma once

#include <cstddef>
#include <memory>
#include <type_traits>
#include <typeinfo>
#include <utility>
#include <vector>

#include "mproc/detail/remote_call.hpp"
#include "mproc/initializer.hpp"

namespace mproc {

class WorkerState {
 public:
  WorkerState() = default;
  WorkerState(std::nullptr_t) noexcept {}  // NOLINT(google-explicit-constructor): "no state"

  // factory(args...) builds the state in each worker; the arguments are copied now.
  template <class F, class... Args>
    requires(!std::same_as<std::remove_cvref_t<F>, WorkerState> &&
             !std::same_as<std::remove_cvref_t<F>, std::nullptr_t> &&
             std::invocable<std::decay_t<F>&, std::decay_t<Args>&...>)
  explicit WorkerState(F&& factory, Args&&... args)
      : call_(make_call(std::forward<F>(factory), std::forward<Args>(args)...)),
        type_(&typeid(std::invoke_result_t<std::decay_t<F>&, std::decay_t<Args>&...>)) {
    using T = std::invoke_result_t<std::decay_t<F>&, std::decay_t<Args>&...>;
    static_assert(std::is_object_v<T> && !std::is_array_v<T>,
                  "mproc::WorkerState: the factory must return the state by value (not void, "
                  "not a reference)");
    static_assert(std::is_same_v<std::remove_cv_t<T>,
                                 std::remove_cv_t<std::invoke_result_t<std::decay_t<F>,
                                                                       std::decay_t<Args>...>>>,
                  "mproc::WorkerState: the factory returns another type when its arguments are "
                  "rvalues");
    if (!call_) type_ = nullptr;  // a null function pointer: no state
  }

  explicit operator bool() const noexcept { return static_cast<bool>(call_); }

  // The factory's return type (typeid(void) when empty).
  [[nodiscard]] const std::type_info& type() const noexcept {
    return type_ != nullptr ? *type_ : typeid(void);
  }

  // Calls the factory here, on the stored copies (what a forked worker does); nullptr when empty.
  [[nodiscard]] std::unique_ptr<detail::KeptValue> build() const {
    std::unique_ptr<detail::KeptValue> out;
    const detail::KeepResultScope scope(out);
    call_();
    return out;
  }

  // As Initializer: whether the factory and its arguments can reach a spawn or forkserver
  // worker, and the call as a remote_call message for one (run it there inside a
  // detail::KeepResultScope to get the state). Handle arguments' fds are appended to `fds`.
  [[nodiscard]] bool for_exec() const noexcept { return call_.for_exec(); }
  [[nodiscard]] std::vector<std::byte> encode_for_exec(std::vector<int>& fds) const {
    return call_.encode_for_exec(fds);
  }

 private:
  template <class F, class... Args>
  static Initializer make_call(F&& factory, Args&&... args) {
    if constexpr (sizeof...(Args) == 0) {
      return Initializer(std::forward<F>(factory));  // a null function pointer: empty
    } else {
      return Initializer(std::forward<F>(factory), std::forward<Args>(args)...);
    }
  }

  Initializer call_{};  // factory(args...), stored and sent as an initializer's call is
  const std::type_info* type_ = nullptr;
};

// The calling pool worker's number, 0..processes-1; -1 outside a pool worker.
[[nodiscard]] int worker_id() noexcept;

// True in a pool worker whose pool has a worker_state, once it is built.
[[nodiscard]] bool has_worker_state() noexcept;

namespace detail {
// The calling worker's state, checked to be a `wanted`; throws mproc::Error otherwise.
[[nodiscard]] KeptValue& current_worker_state(const std::type_info& wanted);

// The same state and the address of its type's type_info, for worker_state<T>()'s fast path (a
// pointer comparison instead of a call). Set by the worker (src/pool/worker_state.cpp) before
// its first task and cleared after its last; all null elsewhere.
struct WorkerStateRef {
  KeptValue* value = nullptr;
  const std::type_info* type = nullptr;
};
inline WorkerStateRef& worker_state_ref() noexcept {
  static WorkerStateRef ref;  // constant-initialised: no guard
  return ref;
}
}  // namespace detail

// The calling worker's state. Throws mproc::Error outside a pool worker, when the pool has no
// worker_state, or when T is not the factory's return type.
template <class T>
[[nodiscard]] T& worker_state() {
  static_assert(!std::is_reference_v<T>, "mproc::worker_state<T>: T is the state's type");
  using Stored = std::remove_cv_t<T>;
  const detail::WorkerStateRef& ref = detail::worker_state_ref();
  if (ref.type == &typeid(Stored)) [[likely]] {
    return static_cast<detail::KeptValueOf<Stored>*>(ref.value)->value;
  }
  // Another type, no state, not a worker, or the same type under another type_info object:
  // the full check (type_info equality), which throws with the reason.
  return static_cast<detail::KeptValueOf<Stored>&>(detail::current_worker_state(typeid(Stored)))
      .value;
}

}  // namespace mproc
