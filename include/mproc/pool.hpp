// mproc/pool.hpp — a pool of worker processes: Python's multiprocessing.Pool, fault-isolated.
//
//   mproc::Pool pool(4);
//   std::vector<Thumb> thumbs = pool.map(process_image, image_files);
//
// Each worker has its own shared-memory channel, so the pool always knows which item each
// worker is running: a task that throws gives RemoteError, one that crashes the worker
// (segfault, abort, exit, SIGKILL, OOM) gives WorkerCrashed for that item only, one that runs
// past task_timeout gives TaskTimeout; the worker is replaced and every other item completes
// exactly once. A supervisor thread watches the workers (pidfds), the channels and the deadlines.
// With soft_timeout the running item is first asked to stop (a std::stop_token last parameter,
// mproc::stop_requested(): soft_timeout.hpp); with replay_dir the input of an item that crashed
// or timed out is saved for mproc::replay (replay.hpp).
//
// The task is a function pointer, a captureless lambda, or a closure whose captures are
// transferable by value (sent with the call: capture values, not references — an address means
// nothing in the worker); its arguments and result are transferable values (codec.hpp). The
// destructor is close() + join().
//
// Start methods: all three (PoolOptions::start_method, else get_start_method()). Under spawn and
// forkserver (both need mproc::init) each worker is a fresh exec of this program or a fork of the
// single-threaded server init() started, so it starts clean however many threads hold locks
// here; the task reaches it named as {module, offset} (remote_call.hpp), and the initializer
// must be a task function, with transferable or handle arguments (initializer.hpp).
#pragma once

#include <chrono>
#include <algorithm>
#include <cstddef>
#include <deque>
#include <exception>
#include <iterator>
#include <memory>
#include <optional>
#include <ranges>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "mproc/detail/pool_batch.hpp"
#include "mproc/detail/pool_core.hpp"
#include "mproc/error.hpp"
#include "mproc/pool_stats.hpp"

namespace mproc {

namespace mpi {
class Pool;  // mpi/pool.hpp: hands out the same futures and ranges
}  // namespace mpi

// The pending result of apply_async / map_async, from mproc::Pool or mproc::mpi::Pool.
template <class R>
class Future {
 public:
  Future() = default;
  // Waits for the value and returns it, or rethrows the task's error (RemoteError,
  // WorkerCrashed, TaskTimeout, Cancelled, ...). The value can be taken once.
  R get() {
    wait();
    return batch_->take();
  }
  void wait() const { core_->wait(*batch_, [this] { return finished(); }, std::nullopt); }
  // True when the result is ready.
  template <class Rep, class Period>
  bool wait_for(std::chrono::duration<Rep, Period> timeout) const {
    const auto deadline =
        std::chrono::steady_clock::now() +
        std::chrono::duration_cast<std::chrono::steady_clock::duration>(timeout);
    return core_->wait(*batch_, [this] { return finished(); }, deadline);
  }
  [[nodiscard]] bool ready() const { return core_->progress(*batch_).finished; }
  // Cancels the call if no worker has started it; get() then throws Cancelled.
  bool cancel() { return core_->cancel(*batch_); }
  [[nodiscard]] bool valid() const noexcept { return batch_ != nullptr; }

 private:
  friend class Pool;
  friend class mpi::Pool;
  Future(std::shared_ptr<detail::CallCore> core, std::shared_ptr<detail::FutureBatch<R>> batch)
      : core_(std::move(core)), batch_(std::move(batch)) {}
  // Called with the core's lock held.
  [[nodiscard]] bool finished() const { return core_->progress_locked(*batch_).finished; }

  std::shared_ptr<detail::CallCore> core_;
  std::shared_ptr<detail::FutureBatch<R>> batch_;
};

// The lazy result range of imap / imap_unordered: an input_range of R. Input is read and sent
// a bounded window ahead of the consumer, so an endless input works in bounded memory. A
// failed item rethrows its error from begin()/++ (the range can be iterated on after it).
template <class R, class V>
class ImapRange {
 public:
  class iterator {
   public:
    using value_type = R;
    using difference_type = std::ptrdiff_t;
    iterator() = default;
    R& operator*() const { return *range_->current_; }
    R* operator->() const { return &*range_->current_; }
    iterator& operator++() {
      range_->advance();
      return *this;
    }
    void operator++(int) { ++*this; }
    friend bool operator==(const iterator& it, std::default_sentinel_t) { return it.at_end(); }

   private:
    friend class ImapRange;
    explicit iterator(ImapRange* r) : range_(r) {}
    [[nodiscard]] bool at_end() const { return !range_->current_; }
    ImapRange* range_ = nullptr;
  };

  ImapRange(std::shared_ptr<detail::CallCore> core, std::shared_ptr<detail::StreamBatch<R>> batch,
            V input, std::size_t min_window, std::size_t max_window)
      : core_(std::move(core)), batch_(std::move(batch)), input_(std::move(input)),
        window_(min_window), min_window_(min_window), max_window_(max_window) {
    std::optional<std::size_t> total;
    if constexpr (std::ranges::sized_range<V>) total = static_cast<std::size_t>(std::ranges::size(input_));
    ticker_ = core_->start_progress(total);
  }
  ImapRange(ImapRange&&) noexcept = default;  // (begin() must not have been called)
  ImapRange& operator=(ImapRange&&) = delete;
  ImapRange(const ImapRange&) = delete;
  ImapRange& operator=(const ImapRange&) = delete;
  ~ImapRange() {
    if (ticker_) ticker_->finish(failed_ == 0 && current_ == std::nullopt && input_done_);
    if (batch_) core_->abandon(*batch_);
  }

  iterator begin() {
    if (!started_) {
      started_ = true;
      it_ = std::ranges::begin(input_);
      advance();
    }
    return iterator(this);
  }
  std::default_sentinel_t end() const noexcept { return {}; }

 private:
  // Reads and sends input until window_ items are out. The window starts at a few items per
  // worker and grows for small items, up to kWindowBytes of encoded input in flight.
  void feed() {
    // Refill in big steps (half a window at least): a segment per item would cost a lock and a
    // chunk per item.
    if (started_feeding_ && sent_ - taken_ > window_ / 2) return;
    started_feeding_ = true;
    while (!input_done_ && sent_ - taken_ < window_) {
      auto seg = std::make_shared<detail::Segment>();
      seg->first_index = sent_;
      const std::size_t want = std::max<std::size_t>(1, window_ - (sent_ - taken_));
      while (seg->size() < want && it_ != std::ranges::end(input_)) {
        detail::append_item<std::ranges::range_value_t<V>>(*seg, *it_);
        ++it_;
      }
      input_done_ = it_ == std::ranges::end(input_);
      const std::size_t items = seg->size();
      const std::size_t bytes = seg->bytes.size();
      sent_ += items;
      core_->submit(batch_, std::move(seg), input_done_);
      if (items != 0) {
        const std::size_t per_item = std::max<std::size_t>(1, bytes / items);
        window_ = std::clamp(kWindowBytes / per_item, min_window_, max_window_);
      }
    }
  }
  void advance() {
    current_.reset();
    if (taken_ == sent_ && input_done_) {
      if (ticker_) ticker_->finish(failed_ == 0);
      return;
    }
    feed();
    if (taken_ == sent_ && input_done_) {  // the input ended with nothing more sent (or was empty)
      if (ticker_) ticker_->finish(failed_ == 0);
      return;
    }
    if (ready_.empty()) {
      std::function<void(const detail::BatchProgress&)> tick;
      if (ticker_) tick = [this](const detail::BatchProgress&) { ticker_->update(taken_, failed_); };
      core_->wait(*batch_, [&] { return batch_->take_ready(ready_) != 0; }, std::nullopt, tick);
    }
    std::optional<Result<R>> next(std::move(ready_.front()));
    ready_.pop_front();
    ++taken_;
    if (!next->ok()) ++failed_;
    if (ticker_) ticker_->update(taken_, failed_);
    if (!next->ok()) std::rethrow_exception(next->error());
    current_.emplace(std::move(*next).value());
  }

  std::shared_ptr<detail::CallCore> core_;
  std::shared_ptr<detail::StreamBatch<R>> batch_;
  V input_;
  std::ranges::iterator_t<V> it_{};
  static constexpr std::size_t kWindowBytes = std::size_t{16} << 20;
  std::size_t window_;
  std::size_t min_window_;
  std::size_t max_window_;
  std::deque<Result<R>> ready_{};  // taken from the batch, not yet yielded
  std::size_t sent_ = 0;
  std::size_t taken_ = 0;
  std::size_t failed_ = 0;
  std::unique_ptr<detail::CallCore::Ticker> ticker_{};
  bool started_ = false;
  bool started_feeding_ = false;
  bool input_done_ = false;
  std::optional<R> current_{};
};

class Pool {
 public:
  Pool() : Pool(PoolOptions{}) {}
  explicit Pool(unsigned processes) : Pool(PoolOptions{.processes = processes}) {}
  explicit Pool(PoolOptions options)
      : core_(std::make_shared<detail::PoolCore>(std::move(options))) {}
  // close() + join(): waits for the submitted work. While an exception unwinds the stack past
  // the pool, nobody will collect that work, so it is terminate() instead.
  ~Pool() {
    if (!core_) return;
    if (std::uncaught_exceptions() > uncaught_at_start_) {
      core_->terminate();
    } else {
      core_->close();
      core_->join();
    }
  }
  Pool(Pool&&) noexcept = default;
  Pool& operator=(Pool&&) = delete;
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;

  // f(x) for every x of inputs, in input order. Rethrows the error of the lowest failed index
  // once every item finished. chunksize 0: adaptive.
  template <class F, std::ranges::input_range In>
  auto map(F&& f, In&& inputs, std::size_t chunksize = 0) {
    using T = std::ranges::range_value_t<In>;
    using Fn = std::decay_t<F>;
    static_assert(detail::check_task_function<Fn>());
    auto batch = detail::one_arg_batch<detail::CollectBatch, Fn, T>(f, chunksize,
                                                                   detail::size_hint(inputs));
    const std::size_t n = detail::submit_range(*core_, batch, inputs);
    core_->wait_all(*batch, n);
    return batch->take();
  }

  // f(std::get<I>(t)...) for every tuple t of inputs, in input order.
  template <class F, std::ranges::input_range In>
  auto starmap(F&& f, In&& inputs, std::size_t chunksize = 0) {
    using Tuple = std::ranges::range_value_t<In>;
    using Fn = std::decay_t<F>;
    static_assert(detail::check_task_function<Fn>());
    auto batch = detail::tuple_arg_batch<detail::CollectBatch, Fn, Tuple>(
        f, chunksize, detail::size_hint(inputs));
    const std::size_t n = detail::submit_range(*core_, batch, inputs);
    core_->wait_all(*batch, n);
    return batch->take();
  }

  // Every item's Result (value or error); never throws for an item's failure.
  template <class F, std::ranges::input_range In>
  auto try_map(F&& f, In&& inputs, std::size_t chunksize = 0) {
    using T = std::ranges::range_value_t<In>;
    using Fn = std::decay_t<F>;
    static_assert(detail::check_task_function<Fn>());
    auto batch =
        detail::one_arg_batch<detail::TryBatch, Fn, T>(f, chunksize, detail::size_hint(inputs));
    const std::size_t n = detail::submit_range(*core_, batch, inputs);
    core_->wait_all(*batch, n);
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

  // f(args...) in a worker; waits for the result.
  template <class F, class... Args>
  auto apply(F&& f, Args&&... args) {
    return apply_async(std::forward<F>(f), std::forward<Args>(args)...).get();
  }

  template <class F, class... Args>
  auto apply_async(F&& f, Args&&... args) {
    using Fn = std::decay_t<F>;
    static_assert(detail::check_task_function<Fn>());
    using Tuple = std::tuple<std::decay_t<Args>...>;
    auto batch = detail::tuple_arg_batch<detail::ApplyBatch, Fn, Tuple>(f, std::size_t{1});
    auto seg = std::make_shared<detail::Segment>();
    detail::append_item<Tuple>(*seg, Tuple(std::forward<Args>(args)...));
    core_->submit(batch, std::move(seg), true);
    return Future<detail::task_result_t<Fn, std::decay_t<Args>&&...>>(core_, std::move(batch));
  }

  // map, without waiting: Future<std::vector<R>> (Future<void> for a void task).
  template <class F, std::ranges::input_range In>
  auto map_async(F&& f, In&& inputs, std::size_t chunksize = 0) {
    using T = std::ranges::range_value_t<In>;
    using Fn = std::decay_t<F>;
    static_assert(detail::check_task_function<Fn>());
    auto batch = detail::one_arg_batch<detail::CollectBatch, Fn, T>(f, chunksize,
                                                                   detail::size_hint(inputs));
    detail::submit_range(*core_, batch, inputs);
    using Out = decltype(batch->take());
    return Future<Out>(core_, std::shared_ptr<detail::FutureBatch<Out>>(batch));
  }

  // No more work may be submitted; workers exit once the submitted work is done.
  void close() { core_->close(); }
  // Waits for the workers to exit; call close() or terminate() first.
  void join() { core_->join(); }
  // Stops the workers now (SIGTERM, SIGKILL after kill_grace); pending results fail with
  // Cancelled.
  void terminate() { core_->terminate(); }

  [[nodiscard]] unsigned processes() const noexcept { return core_->processes(); }
  // What enforces memory_limit_bytes: a memory cgroup per worker (past the limit the kernel
  // OOM-kills the worker: WorkerCrashed with oom_killed()), or RLIMIT_AS (the allocation fails:
  // usually RemoteError for std::bad_alloc). Decided at construction; none without a limit.
  [[nodiscard]] MemoryLimitMode memory_limit_mode() const noexcept {
    return core_->memory_limit_mode();
  }
  // The pids of the live workers (replacements included).
  [[nodiscard]] std::vector<int> worker_pids() const { return core_->worker_pids(); }
  // What each worker slot did so far, and the total (pool_stats.hpp): a snapshot, from any
  // thread, also during a call or after join().
  [[nodiscard]] PoolStats stats() const { return core_->stats(); }

 private:
  template <class F, class In>
  auto make_imap(const F& f, In&& inputs, std::size_t chunksize, bool ordered) {
    using V = std::views::all_t<In>;
    using T = std::ranges::range_value_t<V>;
    using Fn = std::decay_t<F>;
    static_assert(detail::check_task_function<Fn>());
    using R = detail::task_result_t<Fn, T&&>;
    static_assert(!std::is_void_v<R>, "mproc::Pool::imap: the task must return a value");
    auto batch = detail::one_arg_batch<detail::StreamBatch, Fn, T>(f, chunksize, ordered);
    // In flight: at least a few chunks per worker; at most 16 MiB of encoded input or 16384
    // items per worker, whichever is less (ImapRange::feed).
    const std::size_t per = std::max<std::size_t>(chunksize, 1);
    const std::size_t min_window = std::size_t{processes()} * 4 * per;
    const std::size_t max_window = std::max(min_window, std::size_t{processes()} * 16384);
    return ImapRange<R, V>(core_, std::move(batch), std::views::all(std::forward<In>(inputs)),
                           min_window, max_window);
  }

  std::shared_ptr<detail::PoolCore> core_;
  int uncaught_at_start_ = std::uncaught_exceptions();
};

}  // namespace mproc
