#include "mpi/driver.hpp"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <exception>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "mpi/wire.hpp"
#include "mproc/codec.hpp"
#include "mproc/error.hpp"

namespace mproc::mpi_comm {
namespace {

using detail::Batch;
using detail::BatchProgress;
using detail::Segment;

std::exception_ptr rebuild(const Failure& f, std::size_t index, int rank) {
  switch (f.kind) {
    case FailureKind::remote_error:
      return std::make_exception_ptr(RemoteError(f.type_name, f.what, f.pid, index, rank));
    case FailureKind::crashed: {
      WorkerCrashed::Info info;
      info.signal = f.signal;
      info.exit_code = f.exit_code;
      info.pid = f.pid;
      info.index = index;
      info.oom_killed = f.oom_killed;
      info.backtrace = f.backtrace;
      info.fault_address = f.fault_address;
      info.frames = f.frames;
      return std::make_exception_ptr(WorkerCrashed(std::move(info)));
    }
    case FailureKind::timeout:
      return std::make_exception_ptr(
          TaskTimeout(std::chrono::milliseconds(f.timeout_ms), f.pid, index));
    case FailureKind::decode_error:
      return std::make_exception_ptr(DecodeError(f.what));
    case FailureKind::other:
      break;
  }
  return std::make_exception_ptr(Error("task #" + std::to_string(index) + " failed on rank " +
                                       std::to_string(rank) + ": " + f.what));
}

class Driver final : public detail::MpiCore {
 public:
  Driver(std::unique_ptr<Environment> env, const mpi::PoolOptions& options)
      : env_(std::move(env)),
        depth_(std::max(1u, options.chunks_in_flight)),
        per_rank_(std::max(1u, options.processes_per_rank)),
        load_(static_cast<std::size_t>(env_->size()), 0) {
    comm_ = std::thread([this] { run(); });
  }
  ~Driver() override {
    terminate();
    join();
  }

  unsigned worker_ranks() const noexcept override {
    return static_cast<unsigned>(env_->size() - 1);
  }
  unsigned processes() const noexcept override { return worker_ranks() * per_rank_; }

  void submit(const std::shared_ptr<Batch>& batch, std::shared_ptr<const Segment> items, bool last,
              std::size_t expected) override {
    std::vector<std::byte> binding;
    std::unique_lock lk(m_);
    if (closed_) throw PoolClosed();
    auto found = jobs_.find(batch.get());
    if (found == jobs_.end()) {
      lk.unlock();
      binding = batch->remote_binder()(batch->fn());  // throws for a function no rank can name
      lk.lock();
      if (closed_) throw PoolClosed();
      found = jobs_.emplace(batch.get(), Job{}).first;
      Job& j = found->second;
      j.batch = batch;
      j.binding = std::make_shared<const std::vector<std::byte>>(std::move(binding));
      j.chunk = chunk_size(*batch, expected, items->size());
    }
    Job& job = found->second;
    const std::size_t n = items->size();
    job.items += n;
    job.last = last;
    for (std::size_t at = 0; at < n; at += job.chunk) {
      pending_.push_back(Chunk{batch, items, at, std::min(job.chunk, n - at)});
    }
    if (finished(job)) {
      jobs_.erase(found);
      done_.notify_all();
    }
    wake_ = true;
    work_.notify_one();
  }

  bool wait(Batch&, const std::function<bool()>& pred,
            std::optional<std::chrono::steady_clock::time_point> deadline,
            const std::function<void(const BatchProgress&)>& /*on_progress*/) override {
    std::unique_lock lk(m_);
    if (deadline) return done_.wait_until(lk, *deadline, pred);
    done_.wait(lk, pred);
    return true;
  }

  BatchProgress progress(const Batch& batch) override {
    std::lock_guard lk(m_);
    return progress_locked(batch);
  }
  BatchProgress progress_locked(const Batch& batch) const override {
    auto it = jobs_.find(&batch);
    if (it == jobs_.end()) return BatchProgress{0, 0, true};  // finished and forgotten
    const Job& j = it->second;
    return BatchProgress{j.completed, j.failed, finished(j)};
  }

  void abandon(Batch& batch) noexcept override {
    std::lock_guard lk(m_);
    auto it = jobs_.find(&batch);
    if (it == jobs_.end()) return;
    Job& j = it->second;
    j.abandoned = true;
    j.items -= drop_pending(batch, nullptr);
    j.last = true;
    if (finished(j)) jobs_.erase(it);
  }

  bool cancel(Batch& batch) override {
    std::lock_guard lk(m_);
    auto it = jobs_.find(&batch);
    if (it == jobs_.end() || it->second.dispatched) return false;
    drop_pending(batch, &it->second);
    jobs_.erase(it);
    done_.notify_all();
    return true;
  }

  void close() override {
    std::lock_guard lk(m_);
    closed_ = true;
  }

  void join() override {
    {
      std::lock_guard lk(m_);
      if (joined_) return;
      closed_ = true;
      stopping_ = true;
      wake_ = true;
      work_.notify_one();
    }
    if (comm_.joinable()) comm_.join();
    std::lock_guard lk(m_);
    joined_ = true;
    env_->finalize();
  }

  void terminate() override {
    std::lock_guard lk(m_);
    closed_ = true;
    stopping_ = true;
    for (auto& [batch, job] : jobs_) {
      if (!job.abandoned) drop_pending(*job.batch, &job);
    }
    pending_.clear();
    std::erase_if(jobs_, [](const auto& kv) { return finished(kv.second); });
    wake_ = true;
    work_.notify_one();
    done_.notify_all();
  }

 private:
  struct Job {
    std::shared_ptr<Batch> batch;
    std::shared_ptr<const std::vector<std::byte>> binding;
    std::size_t chunk = 1;
    std::size_t items = 0;  // submitted
    std::size_t completed = 0;
    std::size_t failed = 0;
    bool last = false;
    bool abandoned = false;
    bool dispatched = false;
  };
  struct Chunk {
    std::shared_ptr<Batch> batch;
    std::shared_ptr<const Segment> seg;
    std::size_t at;  // first item, within seg
    std::size_t count;
  };
  struct InFlight {
    Batch* batch;
    std::size_t first;  // input index
    std::size_t count;
    int rank;
  };

  static bool finished(const Job& j) { return j.last && j.completed == j.items; }

  std::size_t chunk_size(const Batch& b, std::size_t expected, std::size_t segment) const {
    if (b.chunksize() != 0) return b.chunksize();
    const std::size_t ranks = worker_ranks();
    // Known size: about four chunks per rank, so the ranks finish together; streaming (imap):
    // two per rank of each window.
    const std::size_t n = expected != 0 ? expected : segment;
    const std::size_t parts = ranks * (expected != 0 ? 4 : 2);
    return std::clamp<std::size_t>((n + parts - 1) / parts, 1, 4096);
  }

  // Removes batch's undispatched chunks; with `job`, fails their items with Cancelled. Returns
  // how many items were removed.
  std::size_t drop_pending(Batch& batch, Job* job) {
    std::size_t removed = 0;
    std::erase_if(pending_, [&](const Chunk& c) {
      if (c.batch.get() != &batch) return false;
      removed += c.count;
      if (job != nullptr) {
        for (std::size_t i = 0; i < c.count; ++i) {
          batch.on_error(c.seg->first_index + c.at + i, std::make_exception_ptr(Cancelled()));
        }
        job->completed += c.count;
        job->failed += c.count;
      }
      return true;
    });
    return removed;
  }

  ChunkMessage encode_chunk(const Chunk& c, const Job& job) {
    ChunkMessage m;
    m.id = next_id_++;
    m.binding = *job.binding;
    const Segment& s = *c.seg;
    const std::size_t b = s.begin_of(c.at);
    const std::size_t e = c.at + c.count == s.size() ? s.bytes.size() : s.begin_of(c.at + c.count);
    m.stride = s.stride;
    m.bytes.assign(s.bytes.begin() + static_cast<std::ptrdiff_t>(b),
                   s.bytes.begin() + static_cast<std::ptrdiff_t>(e));
    if (s.stride == 0) {
      m.offsets.reserve(c.count + 1);
      for (std::size_t i = 0; i <= c.count; ++i) m.offsets.push_back(s.offsets[c.at + i] - b);
    }
    return m;
  }

  // With the lock held: sends chunks while a rank has room. True if it sent any.
  bool dispatch_locked() {
    bool sent = false;
    while (!pending_.empty()) {
      auto least = std::min_element(load_.begin() + 1, load_.end());
      if (*least >= depth_) break;
      Chunk c = std::move(pending_.front());
      pending_.pop_front();
      auto it = jobs_.find(c.batch.get());
      if (it == jobs_.end() || it->second.abandoned) continue;
      Job& job = it->second;
      ChunkMessage m = encode_chunk(c, job);
      const int rank = static_cast<int>(least - load_.begin());
      inflight_.emplace(m.id, InFlight{c.batch.get(), c.seg->first_index + c.at, c.count, rank});
      sends_.start(rank, kTagChunk, encode(m));
      ++*least;
      job.dispatched = true;
      sent = true;
    }
    return sent;
  }

  // With the lock held: hands a result message's items to their batch.
  void deliver_locked(int rank, const ResultMessage& r) {
    auto f = inflight_.find(r.id);
    if (f == inflight_.end())
      throw Error("mproc::mpi: rank " + std::to_string(rank) + " answered an unknown chunk");
    const InFlight chunk = f->second;
    inflight_.erase(f);
    --load_[static_cast<std::size_t>(chunk.rank)];
    auto it = jobs_.find(chunk.batch);
    if (it == jobs_.end()) return;  // cancelled by terminate() meanwhile
    Job& job = it->second;
    if (!job.abandoned) {
      if (r.ends.size() != chunk.count)
        throw DecodeError("mproc::mpi: a result message has the wrong item count");
      std::size_t next_failure = 0;
      std::uint64_t begin = 0;
      for (std::size_t i = 0; i < chunk.count; ++i) {
        const std::size_t index = chunk.first + i;
        const std::uint64_t end = r.ends[i];
        if (next_failure < r.failures.size() && r.failures[next_failure].item == i) {
          job.batch->on_error(index, rebuild(r.failures[next_failure], index, rank));
          ++next_failure;
          ++job.failed;
        } else if (end < begin || end > r.values.size()) {
          job.batch->on_error(index, std::make_exception_ptr(
                                         DecodeError("mproc::mpi: a result message is malformed")));
          ++job.failed;
        } else {
          try {
            job.batch->on_value(index,
                                std::span<const std::byte>(r.values).subspan(begin, end - begin));
          } catch (...) {
            job.batch->on_error(index, std::current_exception());
            ++job.failed;
          }
        }
        begin = std::max(begin, end);
      }
    }
    job.completed += chunk.count;
    if (finished(job)) jobs_.erase(it);
  }

  // The MPI thread. MPI's blocking calls spin on a core; between messages this polls with a
  // growing sleep (10 us .. 1 ms) instead, woken at once by new work.
  void run() {
    auto nap = std::chrono::microseconds(10);
    try {
      for (;;) {
        bool busy = false;
        {
          std::lock_guard lk(m_);
          busy = dispatch_locked();
          if (stopping_ && pending_.empty() && inflight_.empty()) break;
        }
        sends_.reap();
        while (auto a = probe()) {
          std::vector<std::byte> bytes = receive(*a);
          if (a->tag != kTagResult)
            throw Error("mproc::mpi: rank 0 got a message with tag " + std::to_string(a->tag));
          ResultMessage r = decode<ResultMessage>(bytes);
          std::lock_guard lk(m_);
          deliver_locked(a->source, r);
          dispatch_locked();
          done_.notify_all();
          busy = true;
        }
        if (busy) {
          nap = std::chrono::microseconds(10);
          continue;
        }
        std::unique_lock lk(m_);
        work_.wait_for(lk, nap, [this] { return wake_; });
        wake_ = false;
        nap = std::min<std::chrono::microseconds>(nap * 2, std::chrono::milliseconds(1));
      }
      for (int r = 1; r < env_->size(); ++r) sends_.start(r, kTagStop, {});
      sends_.wait_all();
    } catch (const std::exception& e) {
      // The job's communication is broken: MPI's own handler would have aborted already; this is
      // a malformed message. Say so and end the whole job, as a dead rank would.
      std::fprintf(stderr, "mproc::mpi: rank 0: %s\n", e.what());
      std::abort();
    }
  }

  std::unique_ptr<Environment> env_;
  const unsigned depth_;
  const unsigned per_rank_;
  mutable std::mutex m_;
  std::condition_variable done_;  // results arrived, batches finished
  std::condition_variable work_;  // the MPI thread: new work or stop
  bool wake_ = false;
  std::unordered_map<const Batch*, Job> jobs_;
  std::deque<Chunk> pending_;
  std::unordered_map<std::uint64_t, InFlight> inflight_;
  std::vector<unsigned> load_;  // chunks in flight per rank (index 0 unused)
  std::uint64_t next_id_ = 0;
  Sends sends_;  // only the MPI thread touches it
  bool closed_ = false;
  bool stopping_ = false;
  bool joined_ = false;
  std::thread comm_;
};

}  // namespace

std::shared_ptr<detail::MpiCore> make_driver(std::unique_ptr<Environment> env,
                                             const mpi::PoolOptions& options) {
  return std::make_shared<Driver>(std::move(env), options);
}

}  // namespace mproc::mpi_comm
