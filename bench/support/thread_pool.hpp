// The in-process floors for the pool benchmarks (no process boundary, no codec), shared by the
// thread_pool* competitors:
//   ThreadPool:  the plain pool: one mutex, one std::function task queue, two condition
//                variables. Every task is a queue push and (if a worker sleeps) a wake-up.
//   ChunkedPool: the fast pool: one job at a time, its items claimed by the workers in chunks
//                with one compare-and-swap each, workers and the caller wait spin-then-futex
//                (std::atomic::wait). No allocation, no lock per job or per chunk.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

namespace bench {

class ThreadPool {
 public:
  explicit ThreadPool(unsigned threads) {
    for (unsigned i = 0; i < threads; ++i) workers_.emplace_back([this] { work(); });
  }
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;
  ~ThreadPool() {
    {
      std::lock_guard lock(mutex_);
      stop_ = true;
    }
    work_.notify_all();
    for (auto& t : workers_) t.join();
  }

  [[nodiscard]] unsigned size() const { return static_cast<unsigned>(workers_.size()); }

  void submit(std::function<void()> task) {
    {
      std::lock_guard lock(mutex_);
      tasks_.push_back(std::move(task));
      ++pending_;
    }
    work_.notify_one();
  }

  // Returns once every task submitted so far has finished.
  void wait_idle() {
    std::unique_lock lock(mutex_);
    idle_.wait(lock, [this] { return pending_ == 0; });
  }

 private:
  void work() {
    for (;;) {
      std::function<void()> task;
      {
        std::unique_lock lock(mutex_);
        work_.wait(lock, [this] { return stop_ || !tasks_.empty(); });
        if (tasks_.empty()) return;
        task = std::move(tasks_.front());
        tasks_.pop_front();
      }
      task();
      std::lock_guard lock(mutex_);
      if (--pending_ == 0) idle_.notify_all();
    }
  }

  std::mutex mutex_;
  std::condition_variable work_;
  std::condition_variable idle_;
  std::deque<std::function<void()>> tasks_;
  std::size_t pending_{0};
  bool stop_{false};
  std::vector<std::thread> workers_;
};

class ChunkedPool {
 public:
  explicit ChunkedPool(unsigned threads) {
    for (unsigned i = 0; i < threads; ++i) workers_.emplace_back([this] { work(); });
  }
  ChunkedPool(const ChunkedPool&) = delete;
  ChunkedPool& operator=(const ChunkedPool&) = delete;
  ~ChunkedPool() {
    stop_.store(true);
    generation_.fetch_add(1);
    generation_.notify_all();
    for (auto& t : workers_) t.join();
  }

  [[nodiscard]] unsigned size() const { return static_cast<unsigned>(workers_.size()); }

  // Calls body(begin, end) over [0, n) in chunks of `chunk` items on the pool's threads; returns
  // once every chunk is done.
  template <class Body>
  void run(std::size_t n, std::size_t chunk, Body& body) {
    if (n == 0) return;
    if (n > kField) throw std::length_error("bench::ChunkedPool: too many items");
    call_.store([](void* ctx, std::size_t b, std::size_t e) { (*static_cast<Body*>(ctx))(b, e); },
                std::memory_order_relaxed);
    ctx_.store(&body, std::memory_order_relaxed);
    chunk_.store(std::max<std::size_t>(chunk, 1), std::memory_order_relaxed);
    done_.store(0, std::memory_order_relaxed);
    const std::uint32_t gen = generation_.load(std::memory_order_relaxed) + 1;
    // The claim word carries the job's generation and size: a worker late from the previous job
    // can neither claim this one's items nor mistake them for its own.
    next_.store(word(gen, n, 0), std::memory_order_release);
    generation_.store(gen, std::memory_order_release);
    generation_.notify_all();
    await_value(complete_, gen);
  }

 private:
  // Claim word: generation (16 bits) | items (24 bits) | next index (24 bits).
  static constexpr std::uint64_t kField = (std::uint64_t{1} << 24) - 1;
  static std::uint64_t word(std::uint32_t gen, std::size_t n, std::size_t index) {
    return (std::uint64_t{gen & 0xffff} << 48) | (std::uint64_t{n} << 24) | index;
  }

  // Spins ~20 us for `word` to reach `want`, then sleeps on its futex.
  static void await_value(std::atomic<std::uint32_t>& w, std::uint32_t want) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::microseconds(20);
    for (unsigned i = 0;; ++i) {
      if (w.load(std::memory_order_acquire) == want) return;
      __builtin_ia32_pause();
      if (i % 64 == 63 && std::chrono::steady_clock::now() > deadline) break;
    }
    for (;;) {
      auto v = w.load(std::memory_order_acquire);
      if (v == want) return;
      w.wait(v, std::memory_order_acquire);
    }
  }

  void work() {
    std::uint32_t seen = 0;
    for (;;) {
      // Wait for a new generation (a job, or stop): spin ~20 us, then sleep.
      auto deadline = std::chrono::steady_clock::now() + std::chrono::microseconds(20);
      std::uint32_t gen;
      for (unsigned i = 0;; ++i) {
        gen = generation_.load(std::memory_order_acquire);
        if (gen != seen) break;
        __builtin_ia32_pause();
        if (i % 64 == 63 && std::chrono::steady_clock::now() > deadline) {
          generation_.wait(seen, std::memory_order_acquire);
          deadline = std::chrono::steady_clock::now() + std::chrono::microseconds(20);
        }
      }
      seen = gen;
      if (stop_.load()) return;
      for (;;) {
        std::uint64_t v = next_.load(std::memory_order_acquire);
        std::size_t begin = 0;
        std::size_t end = 0;
        std::size_t n = 0;
        bool claimed = false;
        while ((v >> 48) == (gen & 0xffff)) {
          n = static_cast<std::size_t>((v >> 24) & kField);
          begin = static_cast<std::size_t>(v & kField);
          if (begin >= n) break;
          end = std::min(n, begin + chunk_.load(std::memory_order_relaxed));
          if (next_.compare_exchange_weak(v, word(gen, n, end), std::memory_order_acq_rel)) {
            claimed = true;
            break;
          }
        }
        if (!claimed) break;
        // The job cannot complete before this chunk does: call_ and ctx_ are still its own.
        call_.load(std::memory_order_relaxed)(ctx_.load(std::memory_order_relaxed), begin, end);
        if (done_.fetch_add(end - begin, std::memory_order_acq_rel) + (end - begin) == n) {
          complete_.store(gen, std::memory_order_release);
          complete_.notify_all();
        }
      }
    }
  }

  std::atomic<void (*)(void*, std::size_t, std::size_t)> call_{nullptr};
  std::atomic<void*> ctx_{nullptr};
  std::atomic<std::size_t> chunk_{1};
  alignas(64) std::atomic<std::uint64_t> next_{0};
  alignas(64) std::atomic<std::size_t> done_{0};
  alignas(64) std::atomic<std::uint32_t> generation_{0};
  alignas(64) std::atomic<std::uint32_t> complete_{0};
  std::atomic<bool> stop_{false};
  std::vector<std::thread> workers_;
};

// Ordered map on the ChunkedPool: chunks of `chunksize` items claimed by whichever worker is free.
template <class R, class T>
[[nodiscard]] std::vector<R> map(ChunkedPool& pool, R (*f)(T), const std::vector<T>& inputs,
                                 std::size_t chunksize) {
  std::vector<R> out(inputs.size());
  auto body = [&out, &inputs, f](std::size_t begin, std::size_t end) {
    for (std::size_t i = begin; i < end; ++i) out[i] = f(inputs[i]);
  };
  pool.run(inputs.size(), chunksize, body);
  return out;
}

// Python's Pool.map default: about four chunks per worker.
[[nodiscard]] inline std::size_t default_chunksize(std::size_t items, unsigned workers) {
  std::size_t chunks = std::size_t{workers} * 4;
  return items == 0 ? 1 : (items + chunks - 1) / chunks;
}

// Ordered map in chunks, each chunk one task; f is called through a pointer, as a process pool
// must.
template <class R, class T>
[[nodiscard]] std::vector<R> map(ThreadPool& pool, R (*f)(T), const std::vector<T>& inputs,
                                 std::size_t chunksize) {
  std::vector<R> out(inputs.size());
  for (std::size_t begin = 0; begin < inputs.size(); begin += chunksize) {
    std::size_t end = std::min(inputs.size(), begin + chunksize);
    pool.submit([&out, &inputs, f, begin, end] {
      for (std::size_t i = begin; i < end; ++i) out[i] = f(inputs[i]);
    });
  }
  pool.wait_idle();
  return out;
}

}  // namespace bench
