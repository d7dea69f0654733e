#include "pool/worker.hpp"

#include <stdio_ext.h>
#include <time.h>

#include <csignal>
#include <cstdlib>
#include <algorithm>
#include <cstring>
#include <exception>
#include <new>
#include <string>

#include "error/exception_info.hpp"
#include "mproc/codec.hpp"
#include "mproc/detail/pool_batch.hpp"
#include "mproc/detail/pool_core.hpp"
#include "mproc/detail/remote_call.hpp"
#include "mproc/error.hpp"
#include "pool/worker_state.hpp"
#include "sys/cgroup.hpp"
#include "sys/event.hpp"
#include "sys/fork.hpp"
#include "sys/memory.hpp"
#include "sys/module_address.hpp"
#include "sys/spin.hpp"
#include "pool/soft_timer.hpp"

namespace mproc::pool {
namespace {

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool kSanitizerReservesAddressSpace = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
constexpr bool kSanitizerReservesAddressSpace = true;
#else
constexpr bool kSanitizerReservesAddressSpace = false;
#endif
#else
constexpr bool kSanitizerReservesAddressSpace = false;
#endif

// How long a worker that ran out of work keeps looking before it sleeps: long enough for the
// parent's next apply() to land without a futex wake-up, short next to any real task. Only while
// its recent waits were that short (sys::AdaptiveSpin): an oversubscribed machine sleeps at once.
constexpr std::chrono::microseconds kIdleSpin{50};

std::int64_t monotonic_ns() noexcept {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}


// Inside a catch: the exception's type and message.
RemoteFailure current_failure() {
  auto e = detail::current_exception_info();
  return RemoteFailure{std::move(e.type_name), std::move(e.what)};
}

// The ItemInvoker of a call whose binding failed in this worker: every item fails with why.
void fail_unbound(std::uintptr_t why, std::span<const std::byte>, detail::ResultSink&) {
  throw Error(*reinterpret_cast<const std::string*>(why));
}

class Worker final : public detail::ResultSink {
 public:
  explicit Worker(WorkerBootstrap& b)
      : b_(b), tasks_(b.channel->tasks()), results_(b.channel->results()),
        status_(b.channel->status()), counters_(status_.counters) {}

  // Test hook (pool/worker.hpp forge_record_for_testing): publishes a record as if it were
  // this worker's own, the way a corrupted or compromised worker could.
  void forge(std::uint32_t kind, std::span<const std::byte> payload) {
    send_raw(kind, payload);
    ring_doorbell();
  }

  int run() {
    if (!initialize()) return 3;
    for (;;) {
      Ring::Record rec;
      if (!next_record(rec)) return 4;  // our channel is corrupt: nothing sane left to do
      if (rec.kind == kFragment) {
        if (!collect_fragment(rec)) return 4;
        if (stop_) return 0;
        continue;
      }
      const bool go_on = handle(rec.kind, rec.payload);
      tasks_.release(rec);
      tasks_.flush();
      ring_doorbell();  // after the room is freed: the parent may be waiting to send more
      if (!go_on) return 0;
    }
  }

  // --- ResultSink ---
  void put_packed(const void* value, std::size_t size) override {
    if (run_ == nullptr || size != run_stride_ || run_count_ == run_cap_) open_run(size);
    std::memcpy(run_ + sizeof(RunHeader) + run_count_ * size, value, size);
    ++run_count_;
    status_.run_items.store(run_count_, std::memory_order_relaxed);
  }

  // Pool::stats(): on a timed item (see run_item), the call ended and encoding begins.
  std::span<std::byte> reserve(std::size_t n) override {
    if (timing_) {
      timed_add(false, segment());
      encoding_ = true;
    }
    return reserve_bytes(n);
  }
  void commit(std::size_t n) override {
    publish(kOk, n);
    if (timing_) {
      timed_add(true, segment());
      encoding_ = false;
      encoded_ = true;
    }
  }
  void decoded() override {
    if (timing_) timed_add(true, segment());
  }

 private:
  std::span<std::byte> reserve_bytes(std::size_t n) {
    close_run();  // everything published keeps item order
    if (b_.max_message_size != 0 && n > b_.max_message_size) {
      big_result_ = false;
      throw Error("the result encodes to " + std::to_string(n) +
                  " bytes, over the pool's max_message_size (" +
                  std::to_string(b_.max_message_size) + ")");
    }
    if (n <= results_.max_record()) {
      big_result_ = false;
      return {wait_for_room(n), n};
    }
    big_result_ = true;
    big_.resize(n);
    return big_;
  }

  // Reserves a kOkRun record for the chunk's next items.
  void open_run(std::size_t size) {
    close_run();
    const std::size_t fit = (results_.max_record() - sizeof(RunHeader)) / size;
    run_cap_ = static_cast<std::uint32_t>(
        std::max<std::size_t>(1, std::min<std::size_t>({fit, items_left_, 1u << 16})));
    run_ = wait_for_room(sizeof(RunHeader) + run_cap_ * size);
    run_stride_ = static_cast<std::uint32_t>(size);
    run_count_ = 0;
    status_.run_items.store(0, std::memory_order_relaxed);
    status_.run_stride.store(run_stride_, std::memory_order_relaxed);
    status_.run_offset.store(static_cast<std::uint64_t>(run_ - results_.data()),
                             std::memory_order_relaxed);
    status_.run_open.store(1, std::memory_order_release);
  }

  void close_run() {
    if (run_ == nullptr) return;
    RunHeader h{run_stride_, run_count_};
    std::memcpy(run_, &h, sizeof h);
    results_.publish(kOkRun, sizeof h + std::size_t{run_count_} * run_stride_);
    status_.run_open.store(0, std::memory_order_release);
    run_ = nullptr;
  }

  bool initialize() {
    if (b_.memory_limit != 0 && !b_.in_memory_cgroup && !kSanitizerReservesAddressSpace) {
      sys::limit_address_space_growth(b_.memory_limit);
    }
    bool building_state = false;
    try {
      if (b_.initializer != nullptr && *b_.initializer) (*b_.initializer)();
      if (b_.worker_state != nullptr && *b_.worker_state) {
        building_state = true;
        (*b_.worker_state)();
        building_state = false;
      }
      // From here on, the worker only computes and talks to the parent (sandbox.hpp).
      if (b_.soft_timeout.count() > 0) soft_.emplace(b_.soft_timeout);  // before any sandbox
      if (b_.sandbox) {
        sys::warm_module_cache();  // a spawned worker's bindings then need no readlink or stat
        sys::enter_sandbox(*b_.sandbox);
      }
      status_.init_state.store(static_cast<std::uint32_t>(InitState::kDone),
                               std::memory_order_release);
      idle_since_ = monotonic_ns();
      return true;
    } catch (...) {
      status_.init_state.store(static_cast<std::uint32_t>(InitState::kFailed),
                               std::memory_order_release);
      try {
        send_encoded(building_state ? kStateFailed : kInitFailed, current_failure());
      } catch (...) {
      }
      ring_doorbell();
      return false;
    }
  }

  // The next task record: spin a little, then sleep on the ring's futex.
  // Only a wait (the ring was empty) feeds the adaptive spin.
  bool next_record(Ring::Record& rec) {
    switch (tasks_.peek(rec)) {
      case Ring::Peek::kRecord:
        return true;
      case Ring::Peek::kCorrupt:
        return false;
      case Ring::Peek::kEmpty:
        break;
    }
    const auto start = std::chrono::steady_clock::now();
    const auto budget = idle_spin_.budget();
    const auto spin_until = start + budget;
    bool sleep = budget.count() == 0;
    for (unsigned i = 0;; ++i) {
      if (sleep) {
        tasks_.sleep_until_not_empty();
      } else {
        cpu_relax();
      }
      switch (tasks_.peek(rec)) {
        case Ring::Peek::kRecord:
          idle_spin_.record(std::chrono::steady_clock::now() - start);
          return true;
        case Ring::Peek::kCorrupt:
          return false;
        case Ring::Peek::kEmpty:
          break;
      }
      sleep = sleep || ((i & 63) == 63 && std::chrono::steady_clock::now() > spin_until);
    }
  }

  // A message too big for one record arrives in pieces; the last piece runs it.
  bool collect_fragment(const Ring::Record& rec) {
    auto p = rec.payload;
    if (!in_fragment_) {
      FragmentHead head{};
      if (p.size() < sizeof head) return false;
      std::memcpy(&head, p.data(), sizeof head);
      frag_total_ = head.total;
      frag_kind_ = head.kind;
      frag_.clear();
      frag_.reserve(head.total);
      p = p.subspan(sizeof head);
      in_fragment_ = true;
    }
    if (frag_.size() + p.size() > frag_total_) return false;
    frag_.insert(frag_.end(), p.begin(), p.end());
    tasks_.release(rec);
    tasks_.flush();
    ring_doorbell();  // the parent may be waiting for room to send the next piece
    if (frag_.size() == frag_total_) {
      in_fragment_ = false;
      std::vector<std::byte> msg = std::move(frag_);
      frag_ = {};
      if (!handle(frag_kind_, msg)) stop_ = true;
    }
    return true;
  }

  // Runs one message; false when the worker must stop.
  bool handle(std::uint32_t kind, std::span<const std::byte> msg) {
    if (kind == kStop) return false;
    if (kind == kBind && b_.remote) return bind(msg);
    if (kind != kChunk || msg.size() < sizeof(ChunkHeader)) return true;  // unknown: ignore
    ChunkHeader h{};
    std::memcpy(&h, msg.data(), sizeof h);
    if (b_.remote && !translate(h)) return false;
    auto items = msg.subspan(sizeof h);
    // A closure task: its state comes first; the invoker finds it through fn.
    if (items.size() < h.closure_size) return false;
    const detail::ClosureBytes closure{items.data(), h.closure_size};
    items = items.subspan(h.closure_size);
    if (h.closure_size != 0 && h.invoker != reinterpret_cast<std::uint64_t>(&fail_unbound)) {
      h.fn = reinterpret_cast<std::uint64_t>(&closure);
    }
    auto invoker = reinterpret_cast<detail::ItemInvoker>(h.invoker);
    const std::int64_t t0 = monotonic_ns();
    add_time(counters_.wait_ns, t0 - idle_since_);
    start_chunk(t0);
    if (h.chunk_invoker != 0 && h.stride != 0 && h.result_stride != 0 &&
        !b_.record_start_times && b_.memory_limit == 0 && !soft_) {
      if (items.size() != std::size_t{h.count} * h.stride) return false;
      return run_packed(h, items, t0);
    }
    for (std::uint32_t k = 0; k < h.count; ++k) {
      std::uint32_t len = h.stride;
      if (len == 0) {
        if (items.size() < sizeof len) return false;
        std::memcpy(&len, items.data(), sizeof len);
        items = items.subspan(sizeof len);
      }
      if (items.size() < len) return false;
      items_left_ = h.count - k;
      // Timed one by one: the chunk's first item, one in 16, and all once they are slow.
      const bool timed = k == 0 || slow_items_ || (++sampled_ & 15) == 0;
      run_item(invoker, h.fn, items.first(len), timed);
      items = items.subspan(len);
      ++done_;
      if (must_retire()) {
        send_raw(kRetiring, {});
        finish_chunk(t0, k + 1);
        return false;
      }
    }
    finish_chunk(t0, h.count);
    return true;
  }

  // A kBind: resolves the parent's names of a call's invokers and function here. A binding that
  // fails (another build of a library, say) is kept as the reason its items fail.
  bool bind(std::span<const std::byte> msg) {
    RemoteBindKey key{};
    if (msg.size() < sizeof key) return false;
    std::memcpy(&key, msg.data(), sizeof key);
    Binding b{key, {}, {}};
    try {
      const std::vector<std::byte> out = detail::run_remote_task(msg.subspan(sizeof key));
      if (out.size() != sizeof b.local) throw DecodeError("mproc: a pool binding of wrong size");
      std::memcpy(&b.local, out.data(), sizeof b.local);
    } catch (...) {
      try {
        b.failure = "this call cannot run in a spawned pool worker: " + current_failure().what;
      } catch (...) {
        return false;
      }
      b.local = {reinterpret_cast<std::uint64_t>(&fail_unbound), 0, 0};
    }
    std::erase_if(bindings_, [&](const Binding& x) { return x.key == key; });
    bindings_.push_back(std::move(b));
    last_binding_ = bindings_.size() - 1;
    return true;
  }

  // A spawned worker's chunk: the parent's addresses in h become ours. False if unbound.
  bool translate(ChunkHeader& h) {
    const RemoteBindKey key{h.invoker, h.fn};
    if (last_binding_ >= bindings_.size() || !(bindings_[last_binding_].key == key)) {
      last_binding_ = bindings_.size();
      for (std::size_t i = 0; i < bindings_.size(); ++i) {
        if (bindings_[i].key == key) last_binding_ = i;
      }
      if (last_binding_ == bindings_.size()) return false;
    }
    Binding& b = bindings_[last_binding_];
    h.invoker = b.local.invoker;
    h.fn = b.failure.empty() ? b.local.fn : reinterpret_cast<std::uint64_t>(&b.failure);
    if (h.chunk_invoker != 0) h.chunk_invoker = b.local.chunk_invoker;
    return true;
  }

  // A chunk of packed items through its ChunkInvoker, in runs as large as a record allows.
  bool run_packed(const ChunkHeader& h, std::span<const std::byte> items, std::int64_t t0) {
    auto chunk_invoker = reinterpret_cast<detail::ChunkInvoker>(h.chunk_invoker);
    std::size_t k = 0;
    while (k < h.count) {
      items_left_ = h.count - k;
      open_run(h.result_stride);
      const std::size_t n = run_cap_;
      detail::PackedRun run{run_ + sizeof(RunHeader), &status_.items_started, done_,
                            &status_.run_items};
      try {
        chunk_invoker(static_cast<std::uintptr_t>(h.fn), items.data() + k * h.stride, n, run);
        // Pool::stats(): one clock read per run, its items timed as the run's mean.
        timed_run(n);
        run_count_ = static_cast<std::uint32_t>(n);
        done_ += n;
        k += n;
      } catch (...) {
        // Items before the failed one finished; the failed one gets its error.
        const std::uint32_t finished = status_.run_items.load(std::memory_order_relaxed);
        timed_run(std::size_t{finished} + 1);
        run_count_ = finished;
        done_ += finished + 1;
        k += finished + 1;
        try {
          throw;
        } catch (const std::bad_alloc&) {
          retire_ = true;
          send_failure();
        } catch (...) {
          send_failure();  // closes the run first
        }
      }
      if (must_retire()) {
        send_raw(kRetiring, {});
        finish_chunk(t0, static_cast<std::uint32_t>(k));
        return false;
      }
    }
    finish_chunk(t0, h.count);
    return true;
  }

  // Pool::stats() timing. A clock read costs tens of ns (55 on a VM): too much to take several
  // per tiny item. So a chunk is timed as a whole (two reads it takes anyway), items one by one
  // (decode, call, encode: three or four reads) only when `timed`, and the others share what is
  // left of the chunk's time: as its mean in the histogram, split between computing and
  // encoding/decoding as the timed items were. Time spent in wait_for_room is waiting.
  void run_item(detail::ItemInvoker invoker, std::uint64_t fn, std::span<const std::byte> args,
                bool timed) {
    if (b_.record_start_times) {
      status_.item_started_ns.store(monotonic_ns(), std::memory_order_relaxed);
    }
    std::int64_t start = 0, waits_before = 0;
    if (timed) {
      start = monotonic_ns();
      mark_ = start;
      waits_before = wait_mark_ = waits_ns_;
      timing_ = true;
      encoded_ = false;
      encoding_ = false;
    }
    status_.items_started.store(done_ + 1, std::memory_order_release);
    if (soft_) soft_->begin_item();
    try {
      invoker(static_cast<std::uintptr_t>(fn), args, *this);
    } catch (const std::bad_alloc&) {
      retire_ = true;  // the heap may be fragmented or the limit reached: start afresh
      send_failure();
    } catch (...) {
      send_failure();
    }
    if (soft_) soft_->end_item();
    if (!timed) return;
    timing_ = false;
    if (!encoded_) timed_add(encoding_, segment());  // a packed result, a failure: no commit()
    const std::int64_t item = std::max<std::int64_t>(0, mark_ - start - (waits_ns_ - waits_before));
    add_items(counters_, item, 1);
    chunk_timed_ns_ += item;
    ++chunk_timed_items_;
    slow_items_ = item >= kSlowItemNs;
  }

  // The time since the last mark, less the waits in it; moves the mark to now.
  std::int64_t segment() noexcept {
    const std::int64_t t = monotonic_ns();
    const std::int64_t d = t - mark_ - (waits_ns_ - wait_mark_);
    mark_ = t;
    wait_mark_ = waits_ns_;
    return std::max<std::int64_t>(d, 0);
  }
  // A timed item's segment: decoding or encoding (codec), else computing.
  void timed_add(bool codec, std::int64_t d) noexcept {
    add_time(codec ? counters_.codec_ns : counters_.compute_ns, d);
    (codec ? timed_codec_ns_ : timed_compute_ns_) += d;
  }

  void start_chunk(std::int64_t t0) noexcept {
    mark_ = t0;
    wait_mark_ = chunk_waits_start_ = waits_ns_;
    chunk_timed_ns_ = 0;
    chunk_timed_items_ = 0;
  }

  // A packed run just ended: its `n` items are timed as its mean.
  void timed_run(std::size_t n) noexcept {
    const std::int64_t d = segment();
    add_time(counters_.compute_ns, d);
    add_items(counters_, d / static_cast<std::int64_t>(n), n);
    chunk_timed_ns_ += d;
    chunk_timed_items_ += n;
  }

  // The chunk (from t0, `count` items run) ended at `end`: its untimed items get the rest.
  void end_chunk(std::int64_t t0, std::int64_t end, std::uint32_t count) noexcept {
    const std::int64_t rest = std::max<std::int64_t>(
        0, end - t0 - (waits_ns_ - chunk_waits_start_) - chunk_timed_ns_);
    const std::size_t untimed = count > chunk_timed_items_ ? count - chunk_timed_items_ : 0;
    if (untimed == 0) {
      add_time(counters_.compute_ns, rest);  // the chunk's own overhead (ring, messages)
      return;
    }
    add_items(counters_, rest / static_cast<std::int64_t>(untimed), untimed);
    const double timed = static_cast<double>(timed_compute_ns_ + timed_codec_ns_);
    const auto codec = timed > 0 ? static_cast<std::int64_t>(static_cast<double>(rest) *
                                                              static_cast<double>(timed_codec_ns_) /
                                                              timed)
                                 : 0;
    add_time(counters_.codec_ns, codec);
    add_time(counters_.compute_ns, rest - codec);
  }

  void send_failure() {
    // Asked to stop, the task ended by throwing: the soft limit ended it.
    const std::uint32_t kind = soft_ && soft_->requested() ? kSoftTimeout : kError;
    try {
      send_encoded(kind, current_failure());
    } catch (...) {
      // Encoding the failure failed (out of memory): send what fits without allocating.
      static constexpr char kType[] = "std::bad_alloc";
      RemoteFailure f;
      try {
        f.type_name = kType;
      } catch (...) {
      }
      send_encoded(kind, f);
    }
  }

  bool must_retire() {
    if (retire_) return true;
    if (b_.max_tasks != 0 && done_ >= b_.max_tasks) return true;
    if (b_.memory_limit != 0) {
      if (auto rss = resident_.bytes(); rss && *rss > b_.memory_limit) return true;
    }
    return false;
  }

  void finish_chunk(std::int64_t t0, std::uint32_t count) {
    const std::int64_t end = monotonic_ns();
    end_chunk(t0, end, count);
    ChunkDone d{static_cast<std::uint64_t>(end - t0), count, 0};
    const std::int64_t waits = waits_ns_;
    send_raw(kChunkDone, {reinterpret_cast<const std::byte*>(&d), sizeof d});
    idle_since_ = end + (waits_ns_ - waits);  // (a wait for room to send it is counted already)
    b_.shared->chunk_ends.fetch_add(1, std::memory_order_release);
    ring_doorbell();
  }

  template <class T>
  void send_encoded(std::uint32_t kind, const T& value) {
    const std::size_t n = encoded_size(value);
    auto buf = reserve_bytes(n);
    encode_into(buf, value);
    publish(kind, n);
  }

  void send_raw(std::uint32_t kind, std::span<const std::byte> bytes) {
    auto buf = reserve_bytes(bytes.size());
    if (!bytes.empty()) std::memcpy(buf.data(), bytes.data(), bytes.size());
    publish(kind, bytes.size());
  }

  // Publishes the last reservation (in the ring, or big_ sent in pieces).
  void publish(std::uint32_t kind, std::size_t n) {
    if (!big_result_) {
      results_.publish(kind, n);
      return;
    }
    big_result_ = false;
    std::size_t sent = 0;
    bool first = true;
    while (sent < n || first) {
      const std::size_t head = first ? sizeof(FragmentHead) : 0;
      const std::size_t piece = std::min(n - sent, results_.max_record() - head);
      std::byte* p = wait_for_room(head + piece);
      if (first) {
        FragmentHead fh{n, kind, 0};
        std::memcpy(p, &fh, sizeof fh);
      }
      std::memcpy(p + head, big_.data() + sent, piece);
      results_.publish(kFragment, head + piece);
      sent += piece;
      first = false;
      ring_doorbell();
    }
    big_.clear();
    big_.shrink_to_fit();
  }

  // Room for n bytes in the result ring; the time it sleeps for it is waiting (Pool::stats()).
  std::byte* wait_for_room(std::size_t n) {
    std::int64_t since = 0;
    for (;;) {
      if (std::byte* p = results_.try_reserve(n)) {
        if (since != 0) {
          const std::int64_t w = monotonic_ns() - since;
          waits_ns_ += w;
          add_time(counters_.wait_ns, w);
        }
        return p;
      }
      if (since == 0) since = monotonic_ns();
      ring_doorbell();
      results_.sleep_until_room(Ring::padded(n) * 2);
    }
  }

  // Wakes the supervisor if it sleeps.
  void ring_doorbell() noexcept {
    full_fence();
    auto& w = b_.shared->supervisor_waiting;
    if (w.load(std::memory_order_relaxed) != 0 && w.exchange(0) != 0) {
      sys::eventfd_signal(b_.doorbell_fd);
    }
  }

  struct Binding {
    RemoteBindKey key;
    detail::RemoteBinding local;
    std::string failure;  // non-empty: the binding failed, fail_unbound reports this
  };

  WorkerBootstrap& b_;
  Ring& tasks_;
  Ring& results_;
  WorkerStatus& status_;
  WorkerCounters& counters_;
  // Pool::stats() timing (see run_item).
  static constexpr std::int64_t kSlowItemNs = 20'000;  // timing each costs < 1% from here on
  std::int64_t mark_ = 0;        // the last timing mark
  std::int64_t idle_since_ = 0;  // the end of the last chunk (or of the initializer)
  std::int64_t waits_ns_ = 0;    // all wait_for_room sleeps so far
  std::int64_t wait_mark_ = 0;   // waits_ns_ at mark_
  std::int64_t chunk_waits_start_ = 0;
  std::int64_t chunk_timed_ns_ = 0;  // the chunk's timed items and runs
  std::size_t chunk_timed_items_ = 0;
  std::int64_t timed_compute_ns_ = 0;  // of all timed items: how their time split
  std::int64_t timed_codec_ns_ = 0;
  std::uint32_t sampled_ = 0;
  bool slow_items_ = false;  // the last timed item took kSlowItemNs or more
  bool timing_ = false;      // the running item is timed
  bool encoded_ = false;     // its commit() marked its end
  bool encoding_ = false;    // between its reserve() and commit()
  std::uint64_t done_ = 0;
  bool retire_ = false;
  bool stop_ = false;
  sys::AdaptiveSpin idle_spin_{kIdleSpin};
  std::size_t items_left_ = 1;  // in the current chunk, the running item included
  std::byte* run_ = nullptr;    // the open kOkRun record (its RunHeader), or null
  std::uint32_t run_stride_ = 0;
  std::uint32_t run_count_ = 0;
  std::uint32_t run_cap_ = 0;
  bool big_result_ = false;
  std::vector<std::byte> big_{};
  bool in_fragment_ = false;
  std::uint64_t frag_total_ = 0;
  std::uint32_t frag_kind_ = 0;
  std::vector<std::byte> frag_{};
  std::vector<Binding> bindings_{};  // spawned: the calls the parent named so far
  sys::ResidentSet resident_{};      // /proc/self/statm, opened before any sandbox
  std::size_t last_binding_ = 0;
  std::optional<SoftTimer> soft_{};  // with a soft_timeout only
};

// The worker this process runs, for forge_record_for_testing only.
Worker* running_worker = nullptr;

}  // namespace

bool forge_record_for_testing(std::uint32_t kind, std::span<const std::byte> payload) {
  if (running_worker == nullptr) return false;
  running_worker->forge(kind, payload);
  return true;
}

int worker_main(void* bootstrap) noexcept {
  auto& b = *static_cast<WorkerBootstrap*>(bootstrap);
  for (int fd : b.close_fds) sys::child::close_fd(fd);
  for (auto [addr, size] : b.unmap) sys::child::unmap(addr, size);
  // Before anything runs: the initializer's memory counts against the limit too.
  if (!b.cgroup_procs.empty()) {
    b.in_memory_cgroup = sys::child::join_cgroup(b.cgroup_procs.c_str());
  }
  sys::SignalMask none{};
  sigemptyset(&none.set);
  sys::child::set_signal_mask(none);  // the supervisor that forked us blocks everything
  // Output the parent had buffered but not written is the parent's to write, not ours.
  __fpurge(stdout);
  __fpurge(stderr);
  // Ctrl-C reaches the whole foreground process group: the parent decides what it means (by
  // default it dies, and its workers with it); a worker must not die mid-task on its own.
  sys::child::ignore_signal(SIGINT);
  sys::child::ignore_signal(SIGQUIT);
  int code = 0;
  try {
    pool::install_crash_handlers(&b.channel->status().crash);
    pool::enter_worker(b.worker_id, b.worker_state != nullptr && *b.worker_state);
    Worker w(b);
    running_worker = &w;
    code = w.run();
    running_worker = nullptr;
    pool::leave_worker();  // the state's destructor runs after the worker's last message
  } catch (...) {
    code = 5;
  }
  sys::child::flush_stdio();
  return code;
}

}  // namespace mproc::pool
