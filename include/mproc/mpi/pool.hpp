// mproc/mpi/pool.hpp — mproc::Pool's interface over Open MPI: code written for a Pool moves to a
// cluster by changing the type (API.md "Beyond one machine", DESIGN.md 7).
//
//   int main(int argc, char** argv) {
//     mproc::mpi::Pool pool(argc, argv);          // mpirun -np N ./app
//     std::vector<int> out = pool.map(square, inputs);
//   }
//
// Under `mpirun -np N`, every rank runs main. Rank 0 returns from the constructor and drives;
// on ranks 1..N-1 the constructor runs the worker loop and then ends the process (std::exit(0))
// when rank 0's pool is destroyed, so they never run main's driver code. Without mpirun the
// program is rank 0 of one: the pool has no workers and the constructor throws Error.
//
// map, starmap, try_map, imap, imap_unordered, apply, apply_async, map_async behave as in
// mproc::Pool, with the same codec, task functions (a function pointer or a captureless lambda:
// named across ranks as {module, offset}, remote_call.hpp, since every rank runs the same
// executable) and error types. A task that throws gives RemoteError, whose rank() names the rank.
// Each worker rank runs its tasks in a local mproc::Pool (fork start method, options.
// processes_per_rank processes), so a task that segfaults or exits gives WorkerCrashed for that
// item and the job carries on; task_timeout gives TaskTimeout the same way.
//
// What MPI decides: a worker rank that dies itself (killed, or a bug in mproc) makes mpirun
// abort the whole job, rank 0 included; nothing here can report it as an item's error.
// One mpi::Pool per program (MPI cannot be initialised twice). Threads: the pool may be used
// from any threads of rank 0, as mproc::Pool; all MPI calls happen on one internal thread.
// Fork: rank 0 may also run mproc::Pools; the mpi::Pool itself does not survive a fork.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <deque>
#include <exception>
#include <functional>
#include <iterator>
#include <memory>
#include <optional>
#include <ranges>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "mproc/detail/mpi_core.hpp"
#include "mproc/detail/pool_batch.hpp"
#include "mproc/pool.hpp"
#include "mproc/error.hpp"

namespace mproc::mpi {

// The same result handles as mproc::Pool's (pool.hpp): a call's Future, and imap's lazy range.
template <class R>
using Future = mproc::Future<R>;
template <class R, class V>
using ImapRange = mproc::ImapRange<R, V>;

// A task function, and not a closure with captures: its state does not travel between ranks yet
// (mproc::Pool sends it with each chunk; the MPI messages do not carry it).
template <class Fn>
consteval bool check_mpi_task() {
  static_assert(detail::check_task_function<Fn>());
  static_assert(!detail::is_closure_task_v<Fn>,
                "mproc::mpi::Pool: a closure with captures cannot be a task across ranks yet: "
                "capture nothing and pass the values as task arguments");
  return true;
}

class Pool {
 public:
  // MPI_Init. Rank 0: returns, the pool ready. Other ranks: runs the worker loop, then exits the
  // process. Throws Error when the job has no worker rank (run under `mpirun -np 2` or more).
  Pool(int& argc, char**& argv, PoolOptions options = {})
      : core_(detail::start_mpi_pool(argc, argv, options)) {}
  // close() + join(); while an exception unwinds past the pool, terminate() instead.
  ~Pool() {
    if (!core_) return;
    if (std::uncaught_exceptions() > uncaught_at_start_) {
      core_->terminate();
    } else {
      core_->close();
    }
    core_->join();
  }
  Pool(Pool&&) noexcept = default;
  Pool& operator=(Pool&&) = delete;
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;

  // f(x) for every x of inputs, in input order. Rethrows the error of the lowest failed index
  // once every item finished. chunksize: items per MPI message; 0: adaptive.
  template <class F, std::ranges::input_range In>
  auto map(F&& f, In&& inputs, std::size_t chunksize = 0) {
    return map_async(std::forward<F>(f), std::forward<In>(inputs), chunksize).get();
  }

  template <class F, std::ranges::input_range In>
  auto starmap(F&& f, In&& inputs, std::size_t chunksize = 0) {
    using Tuple = std::ranges::range_value_t<In>;
    using Fn = std::decay_t<F>;
    static_assert(check_mpi_task<Fn>());
    auto batch = detail::tuple_arg_batch<detail::CollectBatch, Fn, Tuple>(
        f, chunksize, detail::size_hint(inputs));
    const std::size_t n = submit_all(batch, inputs);
    wait_finished(*batch, n);
    return batch->take();
  }

  // Every item's Result (value or error); never throws for an item's failure.
  template <class F, std::ranges::input_range In>
  auto try_map(F&& f, In&& inputs, std::size_t chunksize = 0) {
    using T = std::ranges::range_value_t<In>;
    using Fn = std::decay_t<F>;
    static_assert(check_mpi_task<Fn>());
    auto batch =
        detail::one_arg_batch<detail::TryBatch, Fn, T>(f, chunksize, detail::size_hint(inputs));
    const std::size_t n = submit_all(batch, inputs);
    wait_finished(*batch, n);
    return batch->take(n);
  }

  // Lazy, ordered: the results of f over inputs as they are consumed.
  template <class F, std::ranges::viewable_range In>
  requires std::ranges::input_range<In>
  auto imap(F&& f, In&& inputs, std::size_t chunksize = 0) {
    return make_imap(f, std::forward<In>(inputs), chunksize, true);
  }
  // Lazy, in completion order.
  template <class F, std::ranges::viewable_range In>
  requires std::ranges::input_range<In>
  auto imap_unordered(F&& f, In&& inputs, std::size_t chunksize = 0) {
    return make_imap(f, std::forward<In>(inputs), chunksize, false);
  }

  // f(args...) on a worker rank; waits for the result.
  template <class F, class... Args>
  auto apply(F&& f, Args&&... args) {
    return apply_async(std::forward<F>(f), std::forward<Args>(args)...).get();
  }

  template <class F, class... Args>
  auto apply_async(F&& f, Args&&... args) {
    using Fn = std::decay_t<F>;
    static_assert(check_mpi_task<Fn>());
    using Tuple = std::tuple<std::decay_t<Args>...>;
    auto batch = detail::tuple_arg_batch<detail::ApplyBatch, Fn, Tuple>(f, std::size_t{1});
    auto seg = std::make_shared<detail::Segment>();
    detail::append_item<Tuple>(*seg, Tuple(std::forward<Args>(args)...));
    core_->submit(batch, std::move(seg), true, 1);
    return Future<detail::task_result_t<Fn, std::decay_t<Args>&&...>>(core_, std::move(batch));
  }

  // map, without waiting: Future<std::vector<R>> (Future<void> for a void task).
  template <class F, std::ranges::input_range In>
  auto map_async(F&& f, In&& inputs, std::size_t chunksize = 0) {
    using T = std::ranges::range_value_t<In>;
    using Fn = std::decay_t<F>;
    static_assert(check_mpi_task<Fn>());
    auto batch = detail::one_arg_batch<detail::CollectBatch, Fn, T>(f, chunksize,
                                                                   detail::size_hint(inputs));
    submit_all(batch, inputs);
    using Out = decltype(batch->take());
    return Future<Out>(core_, std::shared_ptr<detail::FutureBatch<Out>>(batch));
  }

  // No more work may be submitted.
  void close() { core_->close(); }
  // After close() or terminate(): waits for the submitted work, then stops the worker ranks.
  void join() { core_->join(); }
  // Drops the work no rank has started (Cancelled), then stops the worker ranks.
  void terminate() { core_->terminate(); }

  // Worker ranks (mpirun's -np minus one).
  [[nodiscard]] unsigned ranks() const noexcept { return core_->worker_ranks(); }
  // Processes running tasks: ranks() * processes_per_rank.
  [[nodiscard]] unsigned processes() const noexcept { return core_->processes(); }

 private:
  // Encodes every input (one segment: the driver cuts it into chunks) and submits it; returns
  // the item count. An input that cannot be encoded fails the call before anything is sent.
  template <class In>
  std::size_t submit_all(const std::shared_ptr<detail::Batch>& batch, In& inputs) {
    using T = std::ranges::range_value_t<In>;
    auto seg = std::make_shared<detail::Segment>();
    for (auto&& x : inputs) detail::append_item<T>(*seg, x);
    const std::size_t n = seg->size();
    core_->submit(batch, std::move(seg), true, n);
    return n;
  }

  void wait_finished(detail::Batch& batch, std::size_t) {
    core_->wait(
        batch, [&] { return core_->progress_locked(batch).finished; }, std::nullopt);
  }

  template <class F, class In>
  auto make_imap(const F& f, In&& inputs, std::size_t chunksize, bool ordered) {
    using V = std::views::all_t<In>;
    using T = std::ranges::range_value_t<V>;
    using Fn = std::decay_t<F>;
    static_assert(check_mpi_task<Fn>());
    using R = detail::task_result_t<Fn, T&&>;
    static_assert(!std::is_void_v<R>, "mproc::mpi::Pool::imap: the task must return a value");
    auto batch = detail::one_arg_batch<detail::StreamBatch, Fn, T>(f, chunksize, ordered);
    // In flight: a few chunks per worker process, at least 1024 items.
    const std::size_t per = std::max<std::size_t>(chunksize, 64);
    const std::size_t window = std::max<std::size_t>(1024, std::size_t{processes()} * 4 * per);
    return ImapRange<R, V>(core_, std::move(batch), std::views::all(std::forward<In>(inputs)),
                           window, window);
  }

  std::shared_ptr<detail::MpiCore> core_;
  int uncaught_at_start_ = std::uncaught_exceptions();
};

}  // namespace mproc::mpi
