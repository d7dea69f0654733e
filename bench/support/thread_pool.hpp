// The in-process floor for the pool benchmarks: a small thread pool with one mutex, one task
// queue and two condition variables (no process boundary, no codec). Shared by the thread_pool
// competitors of pool_map_tiny and pool_apply.
#pragma once

#include <algorithm>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace bench {

class ThreadPool {
 public:
  explicit ThreadPool(unsigned threads) {
    for (unsigned i = 0; i < threads; ++i) workers_.emplace_back([this] { run(); });
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
  void run() {
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
