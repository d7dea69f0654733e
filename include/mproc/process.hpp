// mproc/process.hpp — Process: run a function in a child process (Python's
// multiprocessing.Process).
//
//   mproc::Process p(mproc::ProcessOptions{.name = "loader"}, load, path);  // load(path)
//   p.start();
//   p.join();  // then p.exitcode(): 0, the exit code, or -N after signal N
//
// The child runs `fn(args...)` and exits with 0 when it returns (stdio and std::cout/cerr are
// flushed first). An exception escaping fn writes one line "Process <name> (pid N): uncaught
// exception <type>: <what()>" to the child's stderr and exits with 1. The child may also end
// itself: std::exit(n) gives exitcode n, a signal N gives -N.
//
// Across threads: the member functions may be called from several threads at once (e.g.
// is_alive() while another thread is in join()); moving or destroying a Process while another
// thread uses it is a data race.
// Across fork: only the process that created a Process may start, join, signal or query it. A
// copy seen in a child (fork copies memory) refuses with mproc::Error; its destructor leaves the
// real child alone.
// Parent death: every child is killed (SIGKILL) when its parent process ends or crashes — no
// child outlives its parent. A fork or spawn child is tied to the *thread* that started it
// (PR_SET_PDEATHSIG): start long-lived processes from a thread that outlives them (the main
// thread, a supervisor), or use forkserver, whose children are tied to the server, which ends
// with the program. If the parent leaves main without destroying a Process (std::exit, a crash),
// its child is killed rather than joined.
// Peer death: join()/exitcode() report a child that died in any way; nothing hangs on a dead
// child.
//
// Start methods: all three. With fork the child is a copy of the parent at start(): fn may be
// any callable and the child sees the parent's memory as it was. With spawn the child is a fresh
// exec of this program, with forkserver a fork of the server mproc::init started (init must be
// the first statement of main for both): fn must be a task function (a function
// pointer, a captureless lambda or empty callable, a trivially copyable or serializable closure)
// and every argument transferable and not a pointer, or a handle (Queue, Pipe end, Lock, Event,
// Value, Array, SharedMemory: the child gets the same object, its fds passed with SCM_RIGHTS) —
// else start() throws mproc::Error. Under every method the child starts with the signal mask of
// the thread that called start() and its signal handlers reset to SIG_DFL. Forking a parent whose
// other threads hold locks at that moment (allocators other than glibc's, logging, OpenMP/BLAS
// pools, ...) can deadlock the child, as in Python.
#pragma once

#include <chrono>
#include <concepts>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "mproc/detail/remote_call.hpp"
#include "mproc/error.hpp"
#include "mproc/start_method.hpp"

namespace mproc {

struct ProcessOptions {
  std::string name{};                         // empty: "Process-N" as in Python
  bool daemon{false};                         // killed, not joined, when its Process dies
  std::optional<StartMethod> start_method{};  // empty: get_start_method() at construction
};

namespace detail {

struct ProcessState;  // defined in src/process/process.cpp

// The type-erased call a child makes; it only ever runs in the child.
class ProcessTask {
 public:
  virtual ~ProcessTask() = default;
  virtual void run() = 0;
  // The call encoded for a child that does not share our memory (spawn, forkserver); throws
  // mproc::Error when the function or an argument cannot cross an exec.
  [[nodiscard]] virtual std::vector<std::byte> remote_call() const = 0;
};

template <class F, class... Args>
class ProcessTaskFor final : public ProcessTask {
 public:
  template <class G, class... A>
  explicit ProcessTaskFor(G&& fn, A&&... args)
      : fn_(std::forward<G>(fn)), args_(std::forward<A>(args)...) {}
  void run() override {
    std::apply([this](Args&... a) { std::invoke(std::move(fn_), std::move(a)...); }, args_);
  }
  [[nodiscard]] std::vector<std::byte> remote_call() const override {
    if constexpr (remote_call_ok<F, Args...>) {
      return std::apply([this](const Args&... a) { return encode_remote_call(fn_, a...); },
                        args_);
    } else {
      throw Error(
          "Process: this function or one of its arguments cannot cross an exec (start methods "
          "spawn and forkserver). Use a function pointer, a captureless lambda or a trivially "
          "copyable closure, and transferable arguments (API.md, \"What can cross a process "
          "boundary\"), or StartMethod::fork");
    }
  }

 private:
  F fn_;
  std::tuple<Args...> args_;
};

}  // namespace detail

class Process {
 public:
  // Stores a copy of fn and of each argument (decayed, as std::thread does); start() runs
  // std::invoke(std::move(fn), std::move(args)...) in the child. Pass std::ref to share an object
  // of the parent's memory (the child sees its own copy of it).
  template <class F, class... Args>
  requires(!std::same_as<std::remove_cvref_t<F>, ProcessOptions> &&
           !std::same_as<std::remove_cvref_t<F>, Process> &&
           std::invocable<std::decay_t<F>, std::decay_t<Args>...>) explicit Process(F&& fn,
                                                                                    Args&&... args)
      : Process(ProcessOptions{}, std::forward<F>(fn), std::forward<Args>(args)...) {}

  template <class F, class... Args>
  requires std::invocable<std::decay_t<F>, std::decay_t<Args>...> Process(ProcessOptions options,
                                                                          F&& fn, Args&&... args)
      : Process(std::move(options),
                std::make_unique<detail::ProcessTaskFor<std::decay_t<F>, std::decay_t<Args>...>>(
                    std::forward<F>(fn), std::forward<Args>(args)...)) {}

  // The start method named at compile time (use_fork, use_forkserver, use_spawn): with
  // forkserver or spawn, a function or argument that cannot cross an exec is a compile-time
  // error (remote_call.hpp's static_assert names why) instead of an Error from start().
  template <StartMethod M, class F, class... Args>
    requires std::invocable<std::decay_t<F>, std::decay_t<Args>...>
  Process(StartMethodTag<M> method, F&& fn, Args&&... args)
      : Process(method, ProcessOptions{}, std::forward<F>(fn), std::forward<Args>(args)...) {}

  template <StartMethod M, class F, class... Args>
    requires std::invocable<std::decay_t<F>, std::decay_t<Args>...>
  Process(StartMethodTag<M> /*method*/, ProcessOptions options, F&& fn, Args&&... args)
      : Process(with_method(std::move(options), M), std::forward<F>(fn),
                std::forward<Args>(args)...) {
    if constexpr (M != StartMethod::fork) {
      detail::check_remote_call<false, std::decay_t<F>, std::decay_t<Args>...>();
    }
  }

  Process(Process&& other) noexcept;
  // Finishes what this Process holds as the destructor does, then takes other's child.
  Process& operator=(Process&& other) noexcept;
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  // Not started or already finished: nothing to do. Still running: a non-daemon child is joined
  // (as std::jthread); a daemon child gets SIGTERM, then SIGKILL after a 1 s grace. The child is
  // always reaped. Never throws.
  ~Process();

  // Starts the child; returns once it is running with its parent-death signal armed.
  // Throws mproc::Error when called twice, from another process than the creator, or for a task
  // that cannot cross an exec (spawn, forkserver) or without mproc::init; SystemError when the
  // system refuses (fork: EAGAIN, ...).
  void start();

  // Waits for the child to end and reaps it. Error before start(). Safe to call again.
  void join();

  // join() for at most `timeout`; true when the child has ended (and was reaped).
  template <class Rep, class Period>
  [[nodiscard]] bool join(std::chrono::duration<Rep, Period> timeout) {
    // Saturate instead of overflowing: a timeout beyond ~292 years means "no timeout".
    if (std::chrono::duration<double, std::nano>(timeout).count() >= 9.0e18) {
      join();
      return true;
    }
    return join_for(std::chrono::ceil<std::chrono::nanoseconds>(timeout));
  }

  // True between start() and the child's end. False before start().
  [[nodiscard]] bool is_alive();

  // The child's pid; 0 before start().
  [[nodiscard]] int pid() const noexcept;

  // "Process-N" unless ProcessOptions::name was given. A child's own children are named
  // "Process-N:M", as in Python.
  [[nodiscard]] std::string name() const;

  [[nodiscard]] bool daemon() const noexcept;

  // nullopt before start() and while the child runs; then its exit code, or -N when signal N
  // ended it.
  [[nodiscard]] std::optional<int> exitcode();

  // SIGTERM / SIGKILL to the child. No-op once it has been reaped. Error before start().
  void terminate();
  void kill();

  // A pidfd for the child: valid from start() until the Process is destroyed, readable once the
  // child has ended (for poll/epoll and mproc::wait). Error before start(). Do not close it.
  [[nodiscard]] int sentinel() const;

 private:
  Process(ProcessOptions options, std::unique_ptr<detail::ProcessTask> task);
  static ProcessOptions with_method(ProcessOptions options, StartMethod method) {
    options.start_method = method;
    return options;
  }
  [[nodiscard]] bool join_for(std::chrono::nanoseconds timeout);
  detail::ProcessState& impl() const;

  std::unique_ptr<detail::ProcessState> impl_;
};

}  // namespace mproc
