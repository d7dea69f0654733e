// mproc/initializer.hpp — what a Pool runs once in every worker (replacements included): Python's
// Pool(initializer=f, initargs=(...)).
//
//   PoolOptions{.initializer = open_database}                            // a plain function
//   PoolOptions{.initializer = mproc::Initializer(keep_queue, results)}  // with arguments
//   PoolOptions{.initializer = [&config] { load(config); }}              // any callable: fork only
//
// The function and its arguments are copied (decayed) when the Initializer is made; each worker
// calls fn(args...) on its own copies. Under fork any callable works (the worker is a copy of
// this process). Under spawn and forkserver the worker does not share this process's memory: fn
// must be a task function (a function pointer, a captureless lambda, a trivially copyable or
// serializable closure) and each argument transferable or a handle (Queue, Pipe end, Lock, Event,
// Value, Array, SharedMemory, ...: it arrives as the same object, its fds passed with
// SCM_RIGHTS). An Initializer that cannot cross makes the Pool constructor throw mproc::Error
// naming the reason; Initializer::for_exec() tells beforehand.
//
// Copies of an Initializer share its stored function and arguments (a handle argument stays
// open as long as any copy lives). Thread-safe to copy and call from several threads.
#pragma once

#include <concepts>
#include <cstddef>
#include <functional>
#include <memory>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "mproc/detail/remote_call.hpp"

namespace mproc {

class Initializer {
 public:
  Initializer() = default;
  Initializer(std::nullptr_t) noexcept {}  // NOLINT(google-explicit-constructor): "no initializer"

  // A callable taking no arguments: implicit, so `.initializer = fn` reads as before.
  template <class F>
    requires(!std::same_as<std::remove_cvref_t<F>, Initializer> &&
             !std::same_as<std::remove_cvref_t<F>, std::nullptr_t> &&
             std::invocable<std::decay_t<F>&>)
  Initializer(F&& fn) {  // NOLINT(google-explicit-constructor)
    // A null function pointer or an empty std::function is "no initializer", as before.
    using D = std::decay_t<F>;
    if constexpr (std::is_pointer_v<D>) {
      const D pointer = fn;
      if (pointer == nullptr) return;
    } else if constexpr (std::is_same_v<D, std::function<void()>>) {
      if (!fn) return;
    }
    state_ = make_state(std::forward<F>(fn));
  }

  // fn(args...) with stored copies of the arguments (Python's initargs).
  template <class F, class A0, class... Args>
    requires std::invocable<std::decay_t<F>&, std::decay_t<A0>&, std::decay_t<Args>&...>
  explicit Initializer(F&& fn, A0&& a0, Args&&... args)
      : state_(make_state(std::forward<F>(fn), std::forward<A0>(a0),
                          std::forward<Args>(args)...)) {}

  explicit operator bool() const noexcept { return state_ != nullptr; }

  // Runs fn(args...) here, on the stored copies (what a forked worker does). No-op when empty.
  void operator()() const {
    if (state_) state_->run();
  }

  // True when fn and every argument can reach a worker that does not share this process's
  // memory (spawn, forkserver); an empty Initializer can.
  [[nodiscard]] bool for_exec() const noexcept { return !state_ || state_->remote_ok(); }

  // The call as a remote_call message (detail/remote_call.hpp) for such a worker; handle
  // arguments' fds are appended to `fds` (borrowed: valid while this Initializer or a copy
  // lives). Throws mproc::Error when !for_exec(). Empty bytes for an empty Initializer.
  [[nodiscard]] std::vector<std::byte> encode_for_exec(std::vector<int>& fds) const {
    if (!state_) return {};
    const detail::RemoteFdScope scope(fds);
    return state_->encode();
  }

 private:
  struct State {
    virtual ~State() = default;
    virtual void run() = 0;
    [[nodiscard]] virtual bool remote_ok() const noexcept = 0;
    [[nodiscard]] virtual std::vector<std::byte> encode() const = 0;
  };

  template <class F, class... Args>
  struct StateFor final : State {
    template <class G, class... A>
    explicit StateFor(G&& g, A&&... a) : fn(std::forward<G>(g)), args(std::forward<A>(a)...) {}
    void run() override {
      // A result is dropped, or kept when a KeepResultScope asks (mproc::WorkerState).
      std::apply([this](Args&... a) { detail::invoke_keeping(fn, a...); }, args);
    }
    [[nodiscard]] bool remote_ok() const noexcept override {
      return detail::remote_call_ok<F, Args...>;
    }
    [[nodiscard]] std::vector<std::byte> encode() const override {
      if constexpr (detail::remote_call_ok<F, Args...>) {
        return std::apply([this](const Args&... a) { return detail::encode_remote_call(fn, a...); },
                          args);
      } else {
        throw_not_for_exec();
      }
    }
    F fn;
    std::tuple<Args...> args;
  };

  template <class F, class... Args>
  static std::shared_ptr<State> make_state(F&& fn, Args&&... args) {
    return std::make_shared<StateFor<std::decay_t<F>, std::decay_t<Args>...>>(
        std::forward<F>(fn), std::forward<Args>(args)...);
  }

  [[noreturn]] static void throw_not_for_exec();

  std::shared_ptr<State> state_;
};

}  // namespace mproc
