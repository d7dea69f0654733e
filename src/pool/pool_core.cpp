// PoolCore: the parent side of the pool. One supervisor thread starts the workers (fork, or spawn:
// an exec of this program that init() makes a worker, pool/spawned_worker.hpp) and waits with
// epoll on their pidfds (deaths), one eventfd doorbell (results while it sleeps), a timerfd (the
// earliest task deadline or kill grace) and a control eventfd (wake-up requests). Threads that
// submit or wait help: they dispatch chunks and drain results themselves under the same lock,
// spinning briefly before they sleep on the condition variable the supervisor notifies.
#include "mproc/detail/pool_core.hpp"

#include <algorithm>
#include <array>
#include <limits>
#include <condition_variable>
#include <csignal>
#include <cstring>
#include <deque>
#include <mutex>
#include <string>
#include <system_error>
#include <thread>
#include <unordered_map>

#include "launch/fork.hpp"
#include "launch/forkserver.hpp"
#include "launch/spawn.hpp"
#include "mproc/detail/remote_call.hpp"
#include "mproc/codec.hpp"
#include "mproc/error.hpp"
#include "pool/channel.hpp"
#include "pool/progress_session.hpp"
#include "pool/replay_writer.hpp"
#include "pool/result_reader.hpp"
#include "pool/spawned_worker.hpp"
#include "pool/stats.hpp"
#include "pool/worker.hpp"
#include "pool/worker_state.hpp"
#include "sys/cgroup.hpp"
#include "sys/event.hpp"
#include "sys/fork.hpp"
#include "sys/memory.hpp"
#include "sys/oom.hpp"
#include "sys/spin.hpp"
#include "sys/pidfd.hpp"
#include "sys/seccomp.hpp"
#include "sys/shm.hpp"

namespace mproc::detail {

struct Batch::Book {
  std::size_t submitted = 0;
  std::size_t completed = 0;
  std::size_t failed = 0;
  std::size_t dispatched_chunks = 0;
  std::size_t undispatched = 0;
  std::size_t expected = 0;  // the caller's count of all items, if known before submitting them
  unsigned each_waiters = 0;  // callers waiting on each result (imap, a progress display)
  double ns_per_item = 0;  // smoothed from chunk timings; 0: not known yet
  bool input_closed = false;
  bool queued = false;
  std::deque<std::shared_ptr<const Segment>> segments{};
  std::size_t pos = 0;  // next item of segments.front()
  // Spawned workers: the batch's pool_bind_message (shared with State::bindings).
  std::shared_ptr<const std::vector<std::byte>> binding{};
  std::uint64_t call_id = 0;  // names its replay files
  // With a progress bar: the pool's stats when the call began (its summary line is the change).
  std::optional<pool::StatsAccum> stats_before{};
  [[nodiscard]] bool finished() const noexcept { return input_closed && completed == submitted; }
};

Batch::Batch(ItemInvoker invoker, std::uintptr_t fn, std::size_t chunksize)
    : invoker_(invoker), fn_(fn), chunksize_(chunksize), book_(std::make_unique<Book>()) {
  static std::atomic<std::uint64_t> calls{0};
  book_->call_id = calls.fetch_add(1, std::memory_order_relaxed);
}
Batch::~Batch() = default;

namespace {

using Clock = std::chrono::steady_clock;
using pool::Channel;
using pool::Ring;

// How long a waiting caller spins for results before it sleeps (while its recent waits were
// that short: sys::AdaptiveSpin).
constexpr std::chrono::microseconds kWaiterSpin{30};
// A chunk should take about this long once item times are known (imap latency, balance).
constexpr double kTargetChunkNs = 20e6;
// ... and at least this long, when there are enough items: a hand-over costs tens of µs.
constexpr double kLeastChunkNs = 1e6;
// Keys of the supervisor's epoll set; workers use their id (>= kFirstWorkerKey).
constexpr std::uint64_t kDoorbellKey = 1, kControlKey = 2, kTimerKey = 3, kFirstWorkerKey = 16;


struct Chunk {
  std::shared_ptr<Batch> batch;
  std::shared_ptr<const Segment> seg;
  std::size_t begin = 0, end = 0;  // items of seg
  unsigned attempts = 0;           // earlier attempts of the first item (retries are 1-item chunks)
  std::size_t done = 0;            // items answered so far
  [[nodiscard]] std::size_t count() const noexcept { return end - begin; }
  [[nodiscard]] std::size_t index(std::size_t k) const noexcept {
    return seg->first_index + begin + k;
  }
  [[nodiscard]] std::size_t bytes() const noexcept {
    const std::size_t data = seg->begin_of(end) - seg->begin_of(begin);
    return sizeof(pool::ChunkHeader) + batch->closure().size() + data +
           (seg->stride != 0 ? 0 : 4 * count());
  }
};

struct Worker {
  std::uint64_t key = 0;
  int id = -1;  // mproc::worker_id() there: a replacement takes the id of the worker it replaces
  std::unique_ptr<Channel> channel;
  int pid = 0;
  sys::UniqueFd pidfd;
  std::deque<Chunk> chunks;        // sent, oldest first
  std::size_t items_sent = 0;      // in this worker's life
  std::uint64_t items_answered = 0;
  bool retiring = false;           // takes no more work
  bool stop_sent = false;
  bool corrupt = false;            // its channel held garbage
  bool timed_out = false;          // killed for running past task_timeout
  // With timed_out: how many of its items were answered before the one that timed out. An
  // answer it publishes later (it ignored SIGTERM) is dropped: that item is a TaskTimeout.
  std::uint64_t answers_before_timeout = 0;
  std::optional<Clock::time_point> kill_at{};  // SIGKILL if still alive then
  bool killed_by_pool = false;                 // we sent the SIGKILL (not the OOM killer)
  bool init_timed_out = false;                 // its initializer ran past task_timeout
  Clock::time_point spawned_at{};
  // A task message too big for one record, being sent in pieces.
  std::vector<std::byte> out_big{};
  std::size_t out_pos = 0;
  pool::ResultReader reader{};     // its result ring, parsed
  sys::WorkerCgroup cgroup{};      // its memory cgroup (MemoryLimitMode::cgroup_*), if any
  std::vector<pool::RemoteBindKey> bound{};  // calls named to it so far
  pool::StatsAccum stats{};        // outcomes and bytes (its own counters are in its channel)
  [[nodiscard]] bool sending_big() const noexcept { return out_pos < out_big.size(); }
};

std::string describe_status(int status) {
  if (status < 0) return "was killed by signal " + std::to_string(-status);
  return "exited with code " + std::to_string(status);
}

}  // namespace

struct PoolCore::State {
  PoolOptions opt;
  unsigned n = 0;
  MemoryLimitMode memory_mode = MemoryLimitMode::none;
  // The workers' memory cgroups (declared before `workers`: outlives their WorkerCgroups).
  std::optional<sys::MemoryCgroupTree> cgroups{};
  std::filesystem::path replay_dir{};  // opt.replay_dir or MPROC_REPLAY_DIR; empty: off

  mutable std::mutex mu;
  std::condition_variable cv;
  sys::AdaptiveSpin waiter_spin{kWaiterSpin};  // callers waiting for results (under mu)

  sys::SharedMapping shared_map{sizeof(pool::PoolShared)};
  pool::PoolShared* shared = new (shared_map.data()) pool::PoolShared{};
  // Spawn: workers are execs that share no memory with us; what they must see is on memfds.
  bool remote = false;
  bool forkserver = false;  // remote workers come from the forkserver (which reaps them)
  sys::UniqueFd shared_fd{};                  // the memfd behind shared_map
  std::vector<std::byte> initializer_call{};  // encode_remote_call of the initializer, if any
  std::vector<int> initializer_fds{};  // its handle arguments' fds, borrowed from opt.initializer
  std::function<void()> local_initializer{};  // what a forked worker runs: opt.initializer()
  std::vector<std::byte> worker_state_call{};  // as initializer_call, for opt.worker_state
  std::vector<int> worker_state_fds{};
  std::function<void()> local_worker_state{};  // what a forked worker runs to build it
  sys::UniqueFd doorbell = sys::make_eventfd();
  sys::UniqueFd control = sys::make_eventfd();
  sys::UniqueFd timer = sys::make_timerfd();
  sys::Epoll epoll;

  std::vector<std::unique_ptr<Worker>> workers;
  std::vector<pool::StatsAccum> slot_totals;     // Pool::stats(): of each slot's dead workers
  std::deque<Chunk> requeued;                    // work taken back from dead workers: first
  std::deque<std::shared_ptr<Batch>> queue;      // batches with items to dispatch, round robin
  std::uint64_t next_key = kFirstWorkerKey;

  bool closed = false;
  bool terminated = false;
  std::exception_ptr broken{};  // an initializer failed or workers cannot be started
  // Workers in a row that crashed on their own before starting any item (a start-up crash loop:
  // a sandbox refusing what every worker needs, a broken library): past a bound, the pool breaks
  // instead of replacing them forever. SIGKILL from outside does not count.
  unsigned startup_crashes = 0;
  // The cgroup's OOM-kill counter: found once the first workers run (off the start-up path), then
  // read at each SIGKILL death; a count that moved means the OOM killer did it. The
  // supervisor's own (on_death runs on its thread only).
  std::optional<sys::OomKillCounter> oom_counter{};
  std::optional<std::uint64_t> oom_kills_seen{};
  bool results_for_waiters = false;  // a result some caller waits for arrived (note_result)
  bool started = false;         // the first workers were forked (or start failed)
  std::exception_ptr start_error{};
  bool supervisor_done = false;
  bool joined = false;
  std::thread supervisor;

  // ---------------------------------------------------------------- bookkeeping
  void complete(Batch& b, std::size_t index, std::exception_ptr error) {
    auto& book = b.book();
    if (error) {
      try {
        b.on_error(index, std::move(error));
      } catch (...) {
      }
      ++book.failed;
    }
    ++book.completed;
    note_result(b);
  }
  void deliver(Batch& b, std::size_t index, std::span<const std::byte> bytes) {
    try {
      b.on_value(index, bytes);
      ++b.book().completed;
      note_result(b);
    } catch (...) {
      complete(b, index, std::current_exception());
    }
  }
  // Waking a sleeping caller costs a futex call and a context switch, per chunk: worth it only
  // for a caller that takes each result (imap, a progress display) or once the call is done.
  void note_result(Batch& b) {
    const auto& book = b.book();
    if (book.each_waiters != 0 || book.finished()) results_for_waiters = true;
  }

  // Fails every item of b that no worker holds.
  void fail_undispatched(Batch& b, const std::exception_ptr& error) {
    auto& book = b.book();
    for (auto& seg : book.segments) {
      const std::size_t from = &seg == &book.segments.front() ? book.pos : 0;
      for (std::size_t i = from; i < seg->size(); ++i) complete(b, seg->first_index + i, error);
    }
    book.segments.clear();
    book.pos = 0;
    book.undispatched = 0;
  }

  // Everything not yet finished fails with `error` (terminate, broken pool).
  void fail_everything(const std::exception_ptr& error) {
    for (auto& c : requeued) {
      for (std::size_t k = c.done; k < c.count(); ++k) complete(*c.batch, c.index(k), error);
    }
    requeued.clear();
    for (auto& b : queue) {
      fail_undispatched(*b, error);
      b->book().queued = false;
    }
    queue.clear();
    for (auto& w : workers) {
      for (auto& c : w->chunks) {
        for (std::size_t k = c.done; k < c.count(); ++k) complete(*c.batch, c.index(k), error);
        c.done = c.count();
      }
    }
    cv.notify_all();
  }

  void enqueue(const std::shared_ptr<Batch>& b) {
    auto& book = b->book();
    if (!book.queued && book.undispatched != 0) {
      book.queued = true;
      queue.push_back(b);
    }
  }

  // ---------------------------------------------------------------- timing memory
  // The last measured time per item of each task function, so that the next call of the same
  // function starts with right-sized chunks instead of probing again.
  struct FnKey {
    std::uintptr_t invoker, fn;
    bool operator==(const FnKey&) const = default;
  };
  struct FnKeyHash {
    std::size_t operator()(const FnKey& k) const noexcept {
      return std::hash<std::uintptr_t>{}(k.invoker * 31 + k.fn);
    }
  };
  std::unordered_map<FnKey, double, FnKeyHash> timings;

  static FnKey key_of(const Batch& b) {
    return {reinterpret_cast<std::uintptr_t>(b.invoker()), b.fn()};
  }
  void remember_timing(const Batch& b, double ns) {
    if (timings.size() > 1024) timings.clear();  // bounded: a pool may see many functions
    timings[key_of(b)] = ns;
  }
  // Spawned workers: each function's pool_bind_message, made once (not per apply()).
  std::unordered_map<FnKey, std::shared_ptr<const std::vector<std::byte>>, FnKeyHash> bindings;

  // Names b's function for spawned workers, or throws Error (at the call) if it cannot be.
  void name_for_spawned_workers(Batch& b) {
    auto& book = b.book();
    if (book.binding) return;
    if (auto it = bindings.find(key_of(b)); it != bindings.end()) {
      book.binding = it->second;
      return;
    }
    if (b.remote_binder() == nullptr) {
      throw Error("mproc::Pool: this call cannot run in a spawned worker");
    }
    auto msg = std::make_shared<const std::vector<std::byte>>(b.remote_binder()(b.fn()));
    if (bindings.size() > 1024) bindings.clear();  // bounded; batches keep theirs
    bindings.emplace(key_of(b), msg);
    book.binding = std::move(msg);
  }

  void recall_timing(Batch& b) {
    auto& book = b.book();
    if (book.ns_per_item != 0) return;
    if (auto it = timings.find(key_of(b)); it != timings.end()) book.ns_per_item = it->second;
  }

  // ---------------------------------------------------------------- dispatch
  std::size_t chunk_size(Batch& b) const {
    auto& book = b.book();
    if (b.chunksize() != 0) return b.chunksize();
    const std::size_t total =
        book.expected != 0 ? book.expected : book.input_closed ? book.submitted : book.undispatched;
    std::size_t size = std::max<std::size_t>(1, (total + 4 * n - 1) / (4 * n));
    if (book.ns_per_item > 0) {
      // Chunks so short that handing them out costs more than running them are merged, up to
      // one per worker; chunks so long that they delay imap and the last worker are split.
      const auto least = static_cast<std::size_t>(kLeastChunkNs / book.ns_per_item);
      if (size < least) size = std::min(least, std::max<std::size_t>(1, (total + n - 1) / n));
      const auto by_time = static_cast<std::size_t>(kTargetChunkNs / book.ns_per_item);
      size = std::min(size, std::max<std::size_t>(1, by_time));
    } else {
      // Nothing measured yet: start small and grow, so slow items never sit in a long chunk.
      size = std::min(size, std::size_t{1} << std::min<std::size_t>(book.dispatched_chunks, 20));
    }
    return size;
  }

  // The next chunk of at most `cap` items, or nullopt.
  // A retried item (attempts > 0) goes to a fresh worker only, one that has run nothing yet:
  // whatever state broke the first attempt must not break the next.
  std::optional<Chunk> next_chunk(std::size_t cap, bool fresh_worker) {
    for (auto it = requeued.begin(); it != requeued.end(); ++it) {
      if (it->attempts > 0 && !fresh_worker) continue;
      Chunk c = std::move(*it);
      it = requeued.erase(it);
      if (c.count() > cap) {
        Chunk rest = c;
        rest.begin += cap;
        rest.attempts = 0;
        c.end = c.begin + cap;
        requeued.insert(it, std::move(rest));
      }
      return c;
    }
    while (!queue.empty()) {
      auto b = queue.front();
      queue.pop_front();
      auto& book = b->book();
      if (book.segments.empty()) {
        book.queued = false;
        continue;
      }
      const auto& seg = book.segments.front();
      std::size_t size = std::min({chunk_size(*b), seg->size() - book.pos, cap});
      // Keep a chunk within one record when its items allow it.
      Chunk c{b, seg, book.pos, book.pos + size, 0, 0};
      book.pos += size;
      book.undispatched -= size;
      ++book.dispatched_chunks;
      if (book.pos == seg->size()) {
        book.segments.pop_front();
        book.pos = 0;
      }
      if (book.undispatched != 0) {
        queue.push_back(b);
      } else {
        book.queued = false;
      }
      return c;
    }
    return std::nullopt;
  }

  // A spawned worker learns each call's invokers and function once, from a kBind before the
  // call's first chunk. False if the ring has no room for it now.
  bool bind(Worker& w, Batch& b) {
    const pool::RemoteBindKey key{reinterpret_cast<std::uint64_t>(b.invoker()), b.fn()};
    if (std::find(w.bound.begin(), w.bound.end(), key) != w.bound.end()) return true;
    const auto& msg = *b.book().binding;
    Ring& ring = w.channel->tasks();
    std::byte* p = ring.try_reserve(sizeof key + msg.size());
    if (p == nullptr) return false;
    w.stats.bytes_in += sizeof key + msg.size();
    std::memcpy(p, &key, sizeof key);
    std::memcpy(p + sizeof key, msg.data(), msg.size());
    ring.publish(pool::kBind, sizeof key + msg.size());
    w.bound.push_back(key);
    return true;
  }

  // Writes a chunk into w's task ring (or starts sending it in pieces).
  bool send(Worker& w, Chunk& c) {
    if (remote && !bind(w, *c.batch)) return false;  // spawned: a kBind before the first chunk
    Ring& ring = w.channel->tasks();
    const std::size_t size = c.bytes();
    w.stats.bytes_in += size;  // (counted even if it must wait for room: it is sent once)
    pool::ChunkHeader h{reinterpret_cast<std::uint64_t>(c.batch->invoker()),
                        c.batch->fn(),
                        static_cast<std::uint32_t>(c.count()),
                        static_cast<std::uint32_t>(c.seg->stride),
                        c.seg->stride != 0
                            ? reinterpret_cast<std::uint64_t>(c.batch->chunk_invoker())
                            : 0,
                        c.batch->result_stride(),
                        static_cast<std::uint32_t>(c.batch->closure().size())};
    auto fill = [&](std::byte* p) {
      std::memcpy(p, &h, sizeof h);
      p += sizeof h;
      const auto closure = c.batch->closure();
      if (!closure.empty()) std::memcpy(p, closure.data(), closure.size());
      p += closure.size();
      if (c.seg->stride != 0) {
        const std::size_t from = c.seg->begin_of(c.begin);
        std::memcpy(p, c.seg->bytes.data() + from, c.seg->begin_of(c.end) - from);
        return;
      }
      for (std::size_t i = c.begin; i < c.end; ++i) {
        const auto len = static_cast<std::uint32_t>(c.seg->offsets[i + 1] - c.seg->offsets[i]);
        std::memcpy(p, &len, sizeof len);
        p += sizeof len;
        // (an empty item, e.g. apply's std::tuple<>: bytes.data() may be null)
        if (len != 0) std::memcpy(p, c.seg->bytes.data() + c.seg->offsets[i], len);
        p += len;
      }
    };
    if (size <= ring.max_record()) {
      std::byte* p = ring.try_reserve(size);
      if (p == nullptr) return false;
      fill(p);
      ring.publish(pool::kChunk, size);
      ring.wake_consumer();
      return true;
    }
    pool::FragmentHead fh{size, pool::kChunk, 0};
    w.out_big.resize(sizeof fh + size);
    std::memcpy(w.out_big.data(), &fh, sizeof fh);
    fill(w.out_big.data() + sizeof fh);
    w.out_pos = 0;
    (void)pump(w);
    return true;
  }

  // Sends what fits of w's big message. Returns whether anything was sent.
  bool pump(Worker& w) {
    Ring& ring = w.channel->tasks();
    bool sent = false;
    while (w.sending_big()) {
      const std::size_t piece = std::min(w.out_big.size() - w.out_pos, ring.max_record());
      std::byte* p = ring.try_reserve(piece);
      if (p == nullptr) break;
      std::memcpy(p, w.out_big.data() + w.out_pos, piece);
      ring.publish(pool::kFragment, piece);
      w.out_pos += piece;
      sent = true;
    }
    if (!w.sending_big()) {
      w.out_big = {};
      w.out_pos = 0;
    }
    if (sent) ring.wake_consumer();
    return sent;
  }

  [[nodiscard]] bool accepts_work(const Worker& w) const noexcept {
    return !w.retiring && !w.stop_sent && !w.corrupt && !w.timed_out && !w.kill_at &&
           !w.sending_big() && w.pid != 0;
  }

  // Hands out chunks: first one to every idle worker, then one more each so none waits between
  // chunks. Returns true if anything was sent.
  bool dispatch() {
    bool any = false;
    for (auto& w : workers) {
      if (w->sending_big() && pump(*w)) any = true;
    }
    if (broken || terminated) return false;
    bool out_of_work = false;
    for (std::size_t depth = 1; depth <= 2 && !out_of_work; ++depth) {
      for (auto& wp : workers) {
        Worker& w = *wp;
        while (!out_of_work && accepts_work(w) && w.chunks.size() < depth) {
          std::size_t cap = std::numeric_limits<std::size_t>::max();
          if (opt.max_tasks_per_child != 0) {
            if (w.items_sent >= opt.max_tasks_per_child) break;
            cap = opt.max_tasks_per_child - w.items_sent;
          }
          auto c = next_chunk(cap, w.items_sent == 0);
          if (!c) {
            // Retries wait for a fresh worker; anything else means there is nothing at all.
            if (queue.empty() && requeued.empty()) out_of_work = true;
            break;
          }
          if (!send(w, *c)) {
            requeued.push_front(std::move(*c));
            break;
          }
          w.items_sent += c->count();
          w.chunks.push_back(std::move(*c));
          any = true;
        }
      }
    }
    if (closed) {
      // Nothing will come: let idle workers go.
      const bool work_left = !requeued.empty() || !queue.empty();
      for (auto& w : workers) {
        if (!work_left && w->chunks.empty() && !w->stop_sent && w->pid != 0 && !w->sending_big()) {
          Ring& ring = w->channel->tasks();
          if (ring.try_reserve(0) != nullptr) {
            ring.publish(pool::kStop, 0);
            ring.wake_consumer();
            w->stop_sent = true;
          }
        }
      }
    }
    return any;
  }

  // ---------------------------------------------------------------- results
  // Item k of chunk c (k from its begin) saved for mproc::replay, or empty.
  std::filesystem::path save_replay(const Chunk& c, std::size_t k) const {
    if (replay_dir.empty()) return {};
    return pool::save_replay(replay_dir, *c.batch, *c.seg, c.begin + k, c.batch->book().call_id);
  }

  void on_item(Worker& w, bool ok, std::span<const std::byte> payload, bool soft = false) {
    if (w.timed_out && w.items_answered >= w.answers_before_timeout) return;  // too late
    if (w.chunks.empty() || w.chunks.front().done >= w.chunks.front().count()) {
      w.corrupt = true;  // an answer to nothing
      return;
    }
    Chunk& c = w.chunks.front();
    const std::size_t index = c.index(c.done);
    ++w.items_answered;
    ++c.done;
    w.stats.bytes_out += payload.size();
    // (A task stopped by soft_timeout is a timeout, as its TaskTimeout says.)
    ++(ok ? w.stats.items_done : soft ? w.stats.failed.timed_out : w.stats.failed.remote_error);
    if (ok) {
      deliver(*c.batch, index, payload);
    } else {
      std::exception_ptr e;
      try {
        auto f = decode<pool::RemoteFailure>(payload);
        if (soft) {
          // (The worker's own TaskTimeout, from throw_if_stop_requested, says nothing more.)
          std::string why = f.type_name == "mproc::TaskTimeout"
                                ? "mproc::TaskTimeout (throw_if_stop_requested)"
                                : f.type_name + ": " + f.what;
          TaskTimeout::Info info{TimeoutLimit::soft, opt.soft_timeout, w.pid, index,
                                 std::move(why), save_replay(c, c.done - 1)};
          e = std::make_exception_ptr(TaskTimeout(std::move(info)));
        } else {
          e = std::make_exception_ptr(
              RemoteError(std::move(f.type_name), std::move(f.what), w.pid, index));
        }
      } catch (...) {
        e = std::current_exception();
      }
      complete(*c.batch, index, std::move(e));
    }
  }

  // A run of packed results (a kOkRun record, or the open run of a dead worker).
  void on_run(Worker& w, std::span<const std::byte> payload) {
    pool::RunHeader h{};
    if (payload.size() < sizeof h) {
      w.corrupt = true;
      return;
    }
    std::memcpy(&h, payload.data(), sizeof h);
    auto data = payload.subspan(sizeof h);
    if (h.stride == 0 || data.size() != std::size_t{h.count} * h.stride || w.chunks.empty() ||
        w.chunks.front().count() - w.chunks.front().done < h.count) {
      w.corrupt = true;
      return;
    }
    if (w.timed_out) {  // the answers from the timed-out item on are too late
      if (w.items_answered >= w.answers_before_timeout) return;
      const auto in_time = static_cast<std::uint32_t>(w.answers_before_timeout - w.items_answered);
      if (h.count > in_time) {
        h.count = in_time;
        data = data.first(std::size_t{h.count} * h.stride);
      }
    }
    Chunk& c = w.chunks.front();
    const std::size_t first = c.index(c.done);
    w.stats.bytes_out += payload.size();
    w.stats.items_done += h.count;
    if (c.batch->on_packed(first, h.count, h.stride, data)) {
      c.batch->book().completed += h.count;
      note_result(*c.batch);
    } else {
      for (std::size_t k = 0; k < h.count; ++k) {
        deliver(*c.batch, first + k, data.subspan(k * h.stride, h.stride));
      }
    }
    w.items_answered += h.count;
    c.done += h.count;
  }

  // After w died: the results of its open run, which it had no chance to publish.
  void take_open_run(Worker& w) {
    const auto& ws = w.channel->status();
    if (ws.run_open.load(std::memory_order_acquire) == 0 || w.corrupt) return;
    const std::uint64_t offset = ws.run_offset.load(std::memory_order_relaxed);
    const std::uint64_t items = ws.run_items.load(std::memory_order_relaxed);
    const std::uint64_t stride = ws.run_stride.load(std::memory_order_relaxed);
    const std::size_t cap = w.channel->results().capacity();
    const std::uint64_t bytes = sizeof(pool::RunHeader) + items * stride;
    if (items == 0) return;
    if (stride == 0 || stride > cap || items > cap || offset > cap || bytes > cap - offset) {
      w.corrupt = true;
      return;
    }
    // The header is only written when a run closes: rebuild it from the status fields.
    std::vector<std::byte> run(bytes);
    const pool::RunHeader h{static_cast<std::uint32_t>(stride), static_cast<std::uint32_t>(items)};
    std::memcpy(run.data(), &h, sizeof h);
    std::memcpy(run.data() + sizeof h, w.channel->results().data() + offset + sizeof h,
                bytes - sizeof h);
    on_run(w, run);
  }

  void on_message(Worker& w, std::uint32_t kind, std::span<const std::byte> payload) {
    switch (kind) {
      case pool::kOkRun:
        on_run(w, payload);
        break;
      case pool::kOk:
      case pool::kError:
        on_item(w, kind == pool::kOk, payload);
        break;
      case pool::kSoftTimeout:
        on_item(w, false, payload, true);
        break;
      case pool::kChunkDone: {
        // A chunk is answered item by item, then closed by this report of how many items of it
        // the worker ran: all of them, or fewer when it retires mid-chunk (the rest goes to
        // another worker). Its chunk stays at the front until then, so an answer too many can
        // never be taken for the next chunk's, nor for a later call's.
        pool::ChunkDone d{};
        if (payload.size() != sizeof d) {
          w.corrupt = true;
          break;
        }
        std::memcpy(&d, payload.data(), sizeof d);
        if (w.chunks.empty() || w.chunks.front().done != d.count ||
            (d.count < w.chunks.front().count() && !w.retiring)) {
          w.corrupt = true;
          break;
        }
        Chunk& c = w.chunks.front();
        if (d.count != 0) {
          auto& book = c.batch->book();
          const double per = static_cast<double>(d.elapsed_ns) / d.count;
          book.ns_per_item = book.ns_per_item == 0 ? per : 0.7 * book.ns_per_item + 0.3 * per;
          remember_timing(*c.batch, book.ns_per_item);
        }
        if (c.done == c.count()) w.chunks.pop_front();
        break;
      }
      case pool::kRetiring:
        if (!w.retiring) ++w.stats.recycles;
        w.retiring = true;
        break;
      case pool::kInitFailed:
      case pool::kStateFailed: {
        std::string what;
        try {
          auto f = decode<pool::RemoteFailure>(payload);
          what = f.type_name + ": " + f.what;
        } catch (...) {
          what = "(undecodable error)";
        }
        break_pool(std::string(kind == pool::kStateFailed ? "the pool's worker_state factory"
                                                          : "the pool's initializer") +
                   " failed in worker " + std::to_string(w.pid) + ": it raised " + what);
        break;
      }
      default:
        w.corrupt = true;
    }
  }

  // Reads every message w has published. Returns true if any arrived.
  bool drain(Worker& w) {
    const bool any = w.reader.read(w.channel->results(), [&](std::uint32_t kind, auto payload) {
      on_message(w, kind, payload);
      return !w.corrupt;
    });
    if (w.corrupt) w.reader.mark_corrupt();
    if (w.reader.corrupt()) w.corrupt = true;
    if (w.corrupt && w.pid != 0 && !w.kill_at) {
      w.killed_by_pool = true;
      sys::pidfd_send_signal(w.pidfd.get(), SIGKILL);
      w.kill_at = Clock::now();
    }
    return any;
  }

  bool drain_all() {
    bool any = false;
    for (auto& w : workers) {
      if (w->pid != 0 && drain(*w)) any = true;
    }
    if (results_for_waiters) {
      results_for_waiters = false;
      cv.notify_all();
    }
    return any;
  }

  // ---------------------------------------------------------------- failures
  void break_pool(const std::string& why) {
    if (broken) return;
    broken = std::make_exception_ptr(Error(why));
    fail_everything(broken);
    for (auto& w : workers) kill_worker(*w, SIGKILL);
  }

  void kill_worker(Worker& w, int sig) {
    if (w.pid == 0) return;
    w.killed_by_pool = true;
    sys::pidfd_send_signal(w.pidfd.get(), sig);
    if (sig == SIGTERM && !w.kill_at) w.kill_at = Clock::now() + opt.kill_grace;
  }

  // w's process ended: account for every item it held, then forget it.
  void on_death(Worker& w) {
    drain(w);
    take_open_run(w);
    // nullopt: someone else reaped it (a SIGCHLD handler calling waitpid(-1)); the crash area
    // may still say which signal it was.
    // A forkserver child's status comes from the server.
    const std::optional<int> st = launch::reap_child_noexcept(w.pid, w.pidfd.get(), forkserver);
    const auto& crash_area = w.channel->status().crash;
    std::optional<int> status = st;
    if (!status && crash_area.written.load(std::memory_order_acquire) != 0) {
      status = -crash_area.signal;
    }
    epoll.remove(w.pidfd.get());
    w.pidfd.reset();
    // Its own cgroup's counter says exactly whether the OOM killer ended it; then the cgroup,
    // empty now, goes.
    const std::optional<std::uint64_t> cgroup_oom_kills = w.cgroup.oom_kills();
    w.cgroup.remove();
    const int pid = w.pid;
    w.pid = 0;

    const auto& ws = w.channel->status();
    const bool init_failed_silently =
        ws.init_state.load(std::memory_order_acquire) ==
            static_cast<std::uint32_t>(pool::InitState::kRunning) &&
        has_startup_code() && !terminated;
    if (init_failed_silently && !broken) {
      if (w.init_timed_out) {
        break_pool("the pool's " + startup_code_name() + " ran past task_timeout (" +
                   std::to_string(opt.task_timeout.count()) + " ms) in worker " +
                   std::to_string(pid) + "; the worker was killed");
      } else {
        break_pool("the pool's " + startup_code_name() + " crashed in worker " +
                   std::to_string(pid) + ": it " +
                   (status ? describe_status(*status) : std::string("died (status unknown)")));
      }
    }

    const bool started_nothing = ws.items_started.load(std::memory_order_acquire) == 0;
    if (!started_nothing) {
      startup_crashes = 0;
    } else if (status && *status != -SIGKILL && *status != 0 && !w.killed_by_pool &&
               !w.stop_sent && !w.timed_out && !terminated) {
      if (++startup_crashes >= std::max(5u, 2 * n) && !broken) {
        break_pool("pool workers keep dying before running any item (" +
                   std::to_string(startup_crashes) + " in a row; the last, " +
                   std::to_string(pid) + ", " + describe_status(*status) + ")");
      }
    }

    const bool running = ws.items_started.load(std::memory_order_acquire) > w.items_answered;
    bool first = true;
    for (auto& c : w.chunks) {
      if (c.done == c.count()) continue;
      if (first && running && !terminated && !broken) {
        const std::size_t index = c.index(c.done);
        // The last attempt's input is saved for mproc::replay (a retry may still succeed).
        const std::filesystem::path replay =
            c.attempts < opt.retries ? std::filesystem::path() : save_replay(c, c.done);
        std::exception_ptr error;
        ++(w.timed_out ? w.stats.failed.timed_out : w.stats.failed.crashed);
        if (w.timed_out) {
          error = std::make_exception_ptr(TaskTimeout(
              TaskTimeout::Info{TimeoutLimit::hard, opt.task_timeout, pid, index, {}, replay}));
        } else {
          WorkerCrashed::Info info;
          if (status && *status < 0) {
            info.signal = -*status;
          } else if (status) {
            info.exit_code = *status;
          }
          info.pid = pid;
          info.index = index;
          const auto& crash = ws.crash;
          if (crash.written.load(std::memory_order_acquire) != 0) {
            info.fault_address = crash.fault_address;
            info.frames = pool::frame_lines(crash);
            // The frames below the task (the pool's invoker, worker loop, fork) are the same in
            // every report: keep the task's own.
            auto ours = std::find_if(info.frames.begin(), info.frames.end(), [](const auto& f) {
              return f.find("mproc::detail::invoke_") != std::string::npos;
            });
            if (ours != info.frames.begin() && ours != info.frames.end()) {
              info.frames.erase(ours, info.frames.end());
            }
            for (const auto& f : info.frames) info.backtrace += "    " + f + "\n";
          }
          if (status == -SIGKILL && !w.killed_by_pool && oom_kills_seen) {
            const auto now_kills = oom_counter->count();
            info.oom_killed = now_kills && *now_kills > *oom_kills_seen;
            if (now_kills) oom_kills_seen = now_kills;
          }
          // (Its own cgroup's count is exact; the pool's cgroup's count above also moves with it.)
          if (status == -SIGKILL && !w.killed_by_pool && cgroup_oom_kills) {
            info.oom_killed = *cgroup_oom_kills > 0;
          }
          info.replay_file = replay;
          error = std::make_exception_ptr(WorkerCrashed(std::move(info)));
        }
        if (c.attempts < opt.retries) {
          Chunk retry = c;
          retry.begin = c.begin + c.done;
          retry.end = retry.begin + 1;
          retry.done = 0;
          retry.attempts = c.attempts + 1;
          requeued.push_back(std::move(retry));
        } else {
          complete(*c.batch, index, std::move(error));
        }
        ++c.done;
      }
      first = false;
      if (c.done < c.count()) {
        Chunk rest = c;
        rest.begin = c.begin + c.done;
        rest.done = 0;
        rest.attempts = 0;
        requeued.push_back(std::move(rest));
      }
    }
    w.chunks.clear();
    // A death the pool did not ask for (a signal, an exit during a task, the OOM killer).
    if (status && *status != 0 && !w.killed_by_pool) w.stats.add_crash(*status);
    w.stats.add(ws.counters);
    slot_totals[static_cast<std::size_t>(w.id)] += w.stats;
    cv.notify_all();
  }

  // ---------------------------------------------------------------- workers
  [[nodiscard]] static bool working(const Worker& w) noexcept {
    return w.pid != 0 && !w.retiring && !w.stop_sent && !w.timed_out && !w.corrupt;
  }
  [[nodiscard]] std::size_t working_workers() const {
    return static_cast<std::size_t>(
        std::count_if(workers.begin(), workers.end(), [](auto& w) { return working(*w); }));
  }

  void spawn() {
    auto w = std::make_unique<Worker>();
    w->key = next_key++;
    w->channel = std::make_unique<Channel>(
        pool::kRingBytes, remote ? Channel::Memory::memfd : Channel::Memory::anonymous);
    pool::WorkerBootstrap boot;
    boot.channel = w->channel.get();
    boot.shared = shared;
    boot.doorbell_fd = doorbell.get();
    boot.initializer = &local_initializer;
    w->id = free_worker_id();
    boot.worker_id = w->id;
    boot.worker_state = &local_worker_state;
    boot.max_tasks = opt.max_tasks_per_child;
    boot.memory_limit = opt.memory_limit_bytes;
    if (cgroups) {
      try {
        w->cgroup = cgroups->make_worker("w" + std::to_string(w->key));
        boot.cgroup_procs = w->cgroup.procs_file();
      } catch (const SystemError&) {
        // Refused now although the probe passed: this worker keeps the RLIMIT_AS limit.
      }
    }
    boot.record_start_times = opt.task_timeout.count() > 0;
    boot.soft_timeout = opt.soft_timeout;
    boot.max_message_size = opt.max_message_size;
    if (opt.sandbox) {
      boot.sandbox = sys::SandboxPolicy{
          opt.sandbox->on_violation == Sandbox::OnViolation::kill,
          static_cast<std::uint64_t>(std::max<std::int64_t>(0, opt.sandbox->cpu_time.count())),
          opt.sandbox->address_space_bytes, opt.sandbox->file_size_bytes};
    }
    boot.close_fds = {control.get(), timer.get()};
    for (auto& other : workers) {
      if (other->pidfd) boot.close_fds.push_back(other->pidfd.get());
      boot.unmap.emplace_back(other->channel->mapping(), other->channel->mapping_size());
    }
    launch::Child child;
    if (remote) {
      // Nothing inherited: no fds to close, no sibling mappings to drop.
      const auto message = pool::spawned_worker_message(
          boot, pool::kRingBytes, initializer_call, worker_state_call, initializer_fds.size());
      std::vector<int> fds(pool::kFdCount);
      fds[pool::kChannelFd] = w->channel->fd();
      fds[pool::kSharedFd] = shared_fd.get();
      fds[pool::kDoorbellFd] = doorbell.get();
      fds.insert(fds.end(), initializer_fds.begin(), initializer_fds.end());
      fds.insert(fds.end(), worker_state_fds.begin(), worker_state_fds.end());
      child = forkserver ? launch::forkserver_child(launch::Role::pool_worker, message, fds)
                         : launch::spawn_child(launch::Role::pool_worker, message, fds,
                                              launch::Await::nothing);
      w->channel->release_fd();
    } else {
      child = launch::fork_child(&pool::worker_main, &boot);
    }
    w->pid = child.pid;
    w->pidfd = std::move(child.pidfd);
    w->spawned_at = Clock::now();
    epoll.add(w->pidfd.get(), w->key);
    workers.push_back(std::move(w));
  }

  // The lowest id no working worker holds: working_workers() < n, so it is below n, and the ids of
  // workers that died or retire pass to their replacements.
  [[nodiscard]] int free_worker_id() const {
    std::vector<bool> taken(n, false);
    for (auto& w : workers) {
      const bool working =
          w->pid != 0 && !w->retiring && !w->stop_sent && !w->timed_out && !w->corrupt;
      if (working && w->id >= 0 && static_cast<unsigned>(w->id) < n) taken[w->id] = true;
    }
    return static_cast<int>(std::find(taken.begin(), taken.end(), false) - taken.begin());
  }

  // What runs in a worker before its first item, for the failure messages.
  [[nodiscard]] bool has_startup_code() const noexcept {
    return opt.initializer || opt.worker_state;
  }
  [[nodiscard]] std::string startup_code_name() const {
    if (!opt.worker_state) return "initializer";
    return opt.initializer ? "initializer or worker_state factory" : "worker_state factory";
  }

  // Keeps `n` workers while the pool runs; forgets the dead.
  void maintain() {
    std::erase_if(workers, [](auto& w) { return w->pid == 0; });
    // After close() the submitted work still runs: keep replacing workers until it is done.
    if (terminated || broken || (closed && all_done())) return;
    while (working_workers() < n) {
      try {
        spawn();
      } catch (const std::exception& e) {
        break_pool(std::string("cannot start a pool worker: ") + e.what());
        return;
      }
    }
  }

  // Deadlines: kill grace and task timeouts. Returns the earliest one to wake up for.
  std::optional<Clock::time_point> check_deadlines() {
    const auto now = Clock::now();
    std::optional<Clock::time_point> earliest;
    auto consider = [&](Clock::time_point t) {
      if (!earliest || t < *earliest) earliest = t;
    };
    const bool timeouts = opt.task_timeout.count() > 0;
    for (auto& wp : workers) {
      Worker& w = *wp;
      if (w.pid == 0) continue;
      if (w.kill_at) {
        if (now >= *w.kill_at) {
          w.killed_by_pool = true;
          sys::pidfd_send_signal(w.pidfd.get(), SIGKILL);
          // Stays set (in the past): the death is near; don't re-arm for it.
        } else {
          consider(*w.kill_at);
        }
        continue;
      }
      const auto& ws = w.channel->status();
      if (timeouts && has_startup_code() &&
          ws.init_state.load(std::memory_order_acquire) ==
              static_cast<std::uint32_t>(pool::InitState::kRunning)) {
        // The initializer is held to task_timeout too: one that hangs must not hang the pool.
        const auto deadline = w.spawned_at + opt.task_timeout;
        if (now >= deadline) {
          w.init_timed_out = true;
          kill_worker(w, SIGTERM);
          consider(*w.kill_at);
        } else {
          consider(deadline);
        }
        continue;
      }
      if (!timeouts || w.chunks.empty()) continue;
      if (ws.items_started.load(std::memory_order_acquire) > w.items_answered) {
        const std::int64_t started_ns = ws.item_started_ns.load(std::memory_order_relaxed);
        const Clock::time_point deadline =
            Clock::time_point(std::chrono::nanoseconds(started_ns)) + opt.task_timeout;
        if (now >= deadline) {
          w.timed_out = true;
          w.answers_before_timeout = ws.items_started.load(std::memory_order_acquire) - 1;
          kill_worker(w, SIGTERM);
          consider(*w.kill_at);
        } else {
          consider(deadline);
        }
      } else {
        consider(now + opt.task_timeout);  // its next item starts no earlier than now
      }
    }
    return earliest;
  }

  [[nodiscard]] bool all_done() const {
    return requeued.empty() && queue.empty() &&
           std::all_of(workers.begin(), workers.end(), [](auto& w) { return w->chunks.empty(); });
  }

  // ---------------------------------------------------------------- the supervisor
  void run() noexcept {
    std::unique_lock lk(mu, std::defer_lock);
    try {
      auto mask = sys::block_all_signals();  // signals are for the application's threads
      (void)mask;
      lk.lock();
      try {
        maintain();
      } catch (...) {
        start_error = std::current_exception();
      }
      started = true;
      cv.notify_all();
      std::array<epoll_event, 64> events{};
      for (;;) {
        drain_all();
        for (auto& w : workers) {
          if (w->corrupt && w->pid != 0 && !w->kill_at) kill_worker(*w, SIGKILL);
        }
        dispatch();
        maintain();
        dispatch();
        const auto deadline = check_deadlines();
        sys::timerfd_arm(timer.get(), deadline);
        if ((closed || terminated || broken) && workers.empty()) break;
        // Ask to be woken by the next result, then look once more before sleeping.
        shared->supervisor_waiting.store(1, std::memory_order_seq_cst);
        pool::full_fence();
        // Anything that happened before the flag was up rang no doorbell: results that arrived,
        // room that a worker freed in its task ring (for a waiting chunk or a big message).
        bool pending = false;
        for (auto& w : workers) {
          // (Not a corrupt channel: its garbage is never drained, and waiting for it to empty
          // kept this loop from epoll, where the killed worker's death is seen: a busy hang.)
          if (w->pid != 0 && !w->corrupt && !w->channel->results().empty()) pending = true;
        }
        if (dispatch()) pending = true;
        if (pending) continue;
        lk.unlock();
        if (!oom_counter) {  // (the supervisor's own: on_death runs on this thread only)
          oom_counter.emplace();
          oom_kills_seen = oom_counter->count();
        }
        const std::size_t nev = epoll.wait(events, std::nullopt);
        lk.lock();
        for (std::size_t i = 0; i < nev; ++i) {
          const std::uint64_t key = events[i].data.u64;
          if (key == kDoorbellKey) {
            sys::eventfd_drain(doorbell.get());
          } else if (key == kControlKey) {
            sys::eventfd_drain(control.get());
          } else if (key == kTimerKey) {
            sys::timerfd_drain(timer.get());
          } else {
            for (auto& w : workers) {
              if (w->key == key && w->pid != 0) on_death(*w);
            }
          }
        }
      }
      // Nothing can run any more; whatever is still pending must not wait forever.
      fail_everything(std::make_exception_ptr(Error("the pool stopped before this item ran")));
      supervisor_done = true;
      cv.notify_all();
    } catch (const std::exception& e) {
      // Nothing above should throw; if it did, the pool cannot go on: fail what is pending.
      if (!lk.owns_lock()) lk.lock();
      started = true;
      emergency_stop(e.what());
    }
  }

  void emergency_stop(const std::string& why) noexcept {
    try {
      if (!broken) broken = std::make_exception_ptr(Error("the pool's supervisor failed: " + why));
      fail_everything(broken);
    } catch (...) {
    }
    for (auto& w : workers) {
      if (w->pid != 0) {
        sys::kill_and_reap(w->pid);
        w->pid = 0;
      }
    }
    supervisor_done = true;
    cv.notify_all();
  }

  void poke() noexcept { sys::eventfd_signal(control.get()); }

  // A memory cgroup per worker where the kernel lets us make them, else RLIMIT_AS.
  MemoryLimitMode choose_memory_limit() {
    if (!opt.memory_limit_cgroup) return MemoryLimitMode::rlimit;
    auto base = sys::find_memory_cgroup_base(sys::CgroupHost::current());
    if (!base) return MemoryLimitMode::rlimit;
    try {
      cgroups.emplace(*base, opt.memory_limit_bytes);
    } catch (const SystemError&) {  // EACCES, EROFS, EBUSY...: the kernel said no
      return MemoryLimitMode::rlimit;
    }
    return base->version == sys::CgroupVersion::v2 ? MemoryLimitMode::cgroup_v2
                                                   : MemoryLimitMode::cgroup_v1;
  }

  // ---------------------------------------------------------------- Pool::stats()
  // Each slot's figures so far (its dead workers' and its live ones'), and its live pid (0: none).
  void collect_stats(std::vector<pool::StatsAccum>& slots, std::vector<int>& pids) const {
    slots = slot_totals;
    pids.assign(n, 0);
    for (const auto& w : workers) {
      if (w->pid == 0) continue;  // dead: already in slot_totals
      const auto id = static_cast<std::size_t>(w->id);
      slots[id] += w->stats;
      slots[id].add(w->channel->status().counters);
      // The slot's working worker, else one still finishing (retiring, stopping).
      if (working(*w) || pids[id] == 0) pids[id] = w->pid;
    }
  }
  pool::StatsAccum stats_total() const {
    std::vector<pool::StatsAccum> slots;
    std::vector<int> pids;
    collect_stats(slots, pids);
    pool::StatsAccum total;
    for (const auto& s : slots) total += s;
    return total;
  }
};

// ------------------------------------------------------------------ PoolCore

PoolCore::PoolCore(PoolOptions options) : s_(std::make_unique<State>()) {
  if (options.soft_timeout.count() < 0) {
    throw Error("mproc::Pool: soft_timeout is negative (" +
                std::to_string(options.soft_timeout.count()) + " ms)");
  }
  if (options.soft_timeout.count() > 0 && options.task_timeout.count() > 0 &&
      options.soft_timeout >= options.task_timeout) {
    throw Error("mproc::Pool: soft_timeout (" + std::to_string(options.soft_timeout.count()) +
                " ms) must be shorter than task_timeout (" +
                std::to_string(options.task_timeout.count()) +
                " ms): the soft limit asks a task to stop before the hard one kills it");
  }
  s_->replay_dir = pool::replay_dir_of(options);
  // The process-wide default counts too: a program that chose spawn must not get forks silently.
  const StartMethod method = options.start_method.value_or(get_start_method());
  if (method != StartMethod::fork) {
    if (!initialized()) {
      throw Error(std::string("mproc::Pool: the ") + to_string(method) +
                  " start method needs mproc::init(argc, argv) as the first statement of main: "
                  "a spawned worker runs this program again and init() is where it becomes the "
                  "worker; the forkserver is forked by init()");
    }
    s_->forkserver = method == StartMethod::forkserver;
    if (!options.initializer.for_exec()) {
      // A spawned worker can only find code, not this process's objects.
      throw Error(std::string("mproc::Pool: under ") + to_string(method) +
                  " the initializer must be a task function (a function pointer, a captureless "
                  "lambda, a trivially copyable or serializable closure) with transferable or "
                  "handle arguments: a worker does not share this process's memory, so a closure "
                  "capturing a std::string, a std::function or a reference cannot reach it");
    }
    s_->initializer_call = options.initializer.encode_for_exec(s_->initializer_fds);
    if (!options.worker_state.for_exec()) {
      throw Error(std::string("mproc::Pool: under ") + to_string(method) +
                  " the worker_state factory must be a task function (a function pointer, a "
                  "captureless lambda, a trivially copyable or serializable closure) with "
                  "transferable or handle arguments: a worker does not share this process's "
                  "memory (under fork any callable works)");
    }
    s_->worker_state_call = options.worker_state.encode_for_exec(s_->worker_state_fds);
    s_->remote = true;
    s_->shared_fd = sys::memfd_of_size("mproc-pool-shared", sizeof(pool::PoolShared));
    s_->shared_map = sys::SharedMapping(s_->shared_fd.get(), sizeof(pool::PoolShared));
    s_->shared = new (s_->shared_map.data()) pool::PoolShared{};
  }
  if (options.sandbox && !sys::sandbox_available()) {
    throw Error("mproc::Pool: a sandbox was asked for, but this build of mproc has no libseccomp "
                "(Debian: libseccomp-dev; rebuild)");
  }
  s_->opt = std::move(options);
  if (s_->opt.memory_limit_bytes != 0) s_->memory_mode = s_->choose_memory_limit();
  if (s_->opt.initializer) s_->local_initializer = [s = s_.get()] { s->opt.initializer(); };
  if (s_->opt.worker_state) {
    s_->local_worker_state = [s = s_.get()] {
      pool::install_worker_state(s->opt.worker_state.build());
    };
  }
  s_->n = s_->opt.processes != 0 ? s_->opt.processes : process_cpu_count();
  s_->slot_totals.resize(s_->n);
  s_->epoll.add(s_->doorbell.get(), kDoorbellKey);
  s_->epoll.add(s_->control.get(), kControlKey);
  s_->epoll.add(s_->timer.get(), kTimerKey);
  try {
    s_->supervisor = std::thread([s = s_.get()] { s->run(); });
  } catch (const std::system_error& e) {  // e.g. EAGAIN: out of threads (RLIMIT_NPROC)
    throw SystemError("pthread_create", e.code());
  }
  std::unique_lock lk(s_->mu);
  s_->cv.wait(lk, [&] { return s_->started; });
  if (s_->start_error || s_->broken) {
    auto e = s_->start_error ? s_->start_error : s_->broken;
    s_->terminated = true;
    s_->closed = true;
    lk.unlock();
    s_->poke();
    s_->supervisor.join();
    std::rethrow_exception(e);
  }
}

PoolCore::~PoolCore() {
  try {
    terminate();
    join();
  } catch (...) {
  }
}

unsigned PoolCore::processes() const noexcept { return s_->n; }

MemoryLimitMode PoolCore::memory_limit_mode() const noexcept { return s_->memory_mode; }

void PoolCore::submit(const std::shared_ptr<Batch>& batch, std::shared_ptr<const Segment> items,
                      bool last, std::size_t expected) {
  const std::size_t limit = s_->opt.max_message_size;
  // Packed items are all `stride` bytes: the first one stands for all.
  const std::size_t n = items->stride != 0 ? std::min<std::size_t>(items->size(), 1) : items->size();
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t size = items->begin_of(i + 1) - items->begin_of(i);
    if (size > limit) {
      throw Error("mproc::Pool: input #" + std::to_string(items->first_index + i) + " encodes to " +
                  std::to_string(size) + " bytes, over max_message_size (" +
                  std::to_string(limit) + ")");
    }
  }
  std::lock_guard lk(s_->mu);
  auto& book = batch->book();
  // Named now, so that a function spawned workers cannot reach fails this call, not a worker.
  if (s_->remote) s_->name_for_spawned_workers(*batch);
  if (items->size() == 0 && last && book.submitted != 0) {
    // Only the end of a call's input, whose items were accepted earlier: not new work, so it
    // is fine after close() or terminate() (the call then sees its items' Cancelled).
    book.input_closed = true;
    s_->cv.notify_all();
    return;
  }
  if (s_->broken) std::rethrow_exception(s_->broken);
  if (s_->closed) throw PoolClosed();
  book.expected = std::max(book.expected, expected);
  if (s_->opt.progress && book.submitted == 0 && !book.stats_before) {
    book.stats_before = s_->stats_total();
  }
  s_->recall_timing(*batch);
  book.submitted += items->size();
  book.undispatched += items->size();
  if (items->size() != 0) book.segments.push_back(std::move(items));
  if (last) book.input_closed = true;
  s_->enqueue(batch);
  s_->dispatch();
  if (book.finished()) s_->cv.notify_all();
  if (s_->opt.task_timeout.count() > 0) s_->poke();  // the supervisor arms the deadline
}

bool PoolCore::wait(Batch& batch, const std::function<bool()>& pred,
                    std::optional<std::chrono::steady_clock::time_point> deadline,
                    const std::function<void(const BatchProgress&)>& on_progress) {
  std::unique_lock lk(s_->mu);
  // Results are announced to this caller one by one, or only once the call finished.
  struct EachWaiter {
    std::unique_lock<std::mutex>& lk;
    Batch::Book* book;
    ~EachWaiter() {
      if (book == nullptr) return;
      if (!lk.owns_lock()) lk.lock();
      --book->each_waiters;
    }
  } each{lk, on_progress || batch.wants_each_result() ? &batch.book() : nullptr};
  if (each.book != nullptr) ++each.book->each_waiters;
  for (;;) {
    if (pred()) return true;
    s_->drain_all();
    s_->dispatch();
    if (pred()) return true;
    if (on_progress) {
      const BatchProgress p = progress_locked(batch);
      lk.unlock();
      on_progress(p);
      lk.lock();
      if (pred()) return true;
    }
    if (deadline && Clock::now() >= *deadline) return false;
    if (s_->supervisor_done) {
      // No one will deliver anything any more.
      return pred();
    }
    // Spin briefly: a short task's answer lands here without any thread sleeping. (Spinning
    // longer, even while the remaining work is known to be short, was measured to be slower:
    // on a machine with as many workers as cores it takes their CPU.)
    const std::uint64_t seen = s_->shared->chunk_ends.load(std::memory_order_acquire);
    const auto wait_start = Clock::now();
    const auto budget = s_->waiter_spin.budget();
    bool moved = false;
    if (budget.count() > 0) {
      lk.unlock();
      const auto spin_until = wait_start + budget;
      for (unsigned i = 0; !moved; ++i) {
        pool::cpu_relax();
        moved = s_->shared->chunk_ends.load(std::memory_order_acquire) != seen;
        if ((i & 31) == 31 && Clock::now() > spin_until) break;
      }
      lk.lock();
    }
    if (moved) {
      s_->waiter_spin.record(Clock::now() - wait_start);
      continue;
    }
    if (pred()) return true;
    // Sleep until the supervisor delivers something. With a progress display, wake up at least
    // every 100 ms to redraw it.
    auto until = deadline;
    if (on_progress) {
      const auto tick = Clock::now() + std::chrono::milliseconds(100);
      if (!until || tick < *until) until = tick;
    }
    if (until) {
      s_->cv.wait_until(lk, *until);
    } else {
      s_->cv.wait(lk);
    }
    s_->waiter_spin.record(Clock::now() - wait_start);
  }
}

void PoolCore::wait_all(Batch& batch, std::optional<std::size_t> total) {
  auto session = pool::ProgressSession::make(s_->opt, total);
  auto finished = [&] { return batch.book().finished(); };
  if (!session) {
    wait(batch, finished, std::nullopt);
    return;
  }
  try {
    wait(batch, finished, std::nullopt,
         [&](const BatchProgress& p) { session->update(p.completed, p.failed); });
  } catch (...) {
    session->finish(false);
    throw;
  }
  const BatchProgress p = progress(batch);
  session->update(p.completed, p.failed);
  session->finish(p.failed == 0);
  // The bar ends with a line of Pool::stats() for this call: the totals now minus at its submit.
  if (session->drawing()) {
    pool::StatsAccum d;
    {
      std::lock_guard lk(s_->mu);
      if (!batch.book().stats_before) return;
      d = s_->stats_total();
      d -= *batch.book().stats_before;
    }
    session->summary(pool::summary_line(d));
  }
}

std::unique_ptr<PoolCore::Ticker> PoolCore::start_progress(std::optional<std::size_t> total) {
  return pool::ProgressSession::make(s_->opt, total);
}

BatchProgress PoolCore::progress(const Batch& batch) {
  std::lock_guard lk(s_->mu);
  return progress_locked(batch);
}

BatchProgress PoolCore::progress_locked(const Batch& batch) const {
  auto& book = const_cast<Batch&>(batch).book();
  return BatchProgress{book.completed, book.failed, book.finished()};
}

bool PoolCore::cancel(Batch& batch) {
  std::lock_guard lk(s_->mu);
  auto& book = batch.book();
  if (book.finished()) return false;
  const bool untouched = book.dispatched_chunks == 0;
  s_->fail_undispatched(batch, std::make_exception_ptr(Cancelled()));
  s_->cv.notify_all();
  return untouched;
}

void PoolCore::abandon(Batch& batch) noexcept {
  try {
    std::lock_guard lk(s_->mu);
    auto& book = batch.book();
    book.input_closed = true;
    s_->fail_undispatched(batch, std::make_exception_ptr(Cancelled()));
  } catch (...) {
  }
}

void PoolCore::close() {
  {
    std::lock_guard lk(s_->mu);
    s_->closed = true;
  }
  s_->poke();
}

void PoolCore::join() {
  std::unique_lock lk(s_->mu);
  if (!s_->closed && !s_->terminated && !s_->broken) {
    throw Error("mproc::Pool::join() before close() or terminate()");
  }
  s_->cv.wait(lk, [&] { return s_->supervisor_done; });
  if (s_->joined) return;
  s_->joined = true;
  lk.unlock();
  if (s_->supervisor.joinable()) s_->supervisor.join();
}

void PoolCore::terminate() {
  {
    std::lock_guard lk(s_->mu);
    s_->closed = true;
    if (!s_->supervisor_done) {
      s_->terminated = true;
      for (auto& w : s_->workers) {  // Pool::stats(): what they held fails as Cancelled
        for (const auto& c : w->chunks) w->stats.failed.cancelled += c.count() - c.done;
      }
      s_->fail_everything(std::make_exception_ptr(Cancelled("the pool was terminated")));
      for (auto& w : s_->workers) s_->kill_worker(*w, SIGTERM);
    }
  }
  s_->poke();
  join();
}

std::vector<int> PoolCore::worker_pids() {
  std::lock_guard lk(s_->mu);
  std::vector<int> out;
  for (auto& w : s_->workers) {
    if (w->pid != 0 && !w->retiring && !w->stop_sent) out.push_back(w->pid);
  }
  return out;
}

PoolStats PoolCore::stats() {
  std::vector<pool::StatsAccum> slots;
  std::vector<int> pids;
  {
    std::lock_guard lk(s_->mu);
    s_->collect_stats(slots, pids);
  }
  PoolStats out;
  pool::StatsAccum total;
  for (unsigned i = 0; i < s_->n; ++i) {
    total += slots[i];
    WorkerStats ws = slots[i].to_stats();
    ws.pid = pids[i];
    // (Read outside the lock: /proc may be slow. A worker that just died reads as 0.)
    if (ws.pid != 0) ws.rss_bytes = sys::resident_bytes_of(ws.pid).value_or(0);
    out.workers.push_back(std::move(ws));
  }
  out.total = total.to_stats();
  for (const auto& w : out.workers) out.total.rss_bytes += w.rss_bytes;
  return out;
}

}  // namespace mproc::detail
