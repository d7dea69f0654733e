// Helpers for the synchronization tests: a counter page shared with children, and a signal storm
// aimed at the waiting thread.
#pragma once

#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/types.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <thread>

// ThreadSanitizer rightly reports a release by a thread that does not hold the lock, even one
// the library turns into an Error: the tests of that misuse do not run under it.
#if defined(__SANITIZE_THREAD__)
#define MPROC_TSAN 1
#else
#define MPROC_TSAN 0
#endif

namespace mproc::test {

// The state letter of /proc/<pid>/stat ('S': asleep, e.g. in a lock's or event's futex), '?'
// when unreadable.
inline char state_of(pid_t pid) {
  // No allocation: loops call this thousands of times, and under AddressSanitizer every freed
  // block lingers in its quarantine, making each later fork slower.
  char path[64];
  std::snprintf(path, sizeof path, "/proc/%d/stat", static_cast<int>(pid));
  const int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return '?';
  char stat[512];
  const ssize_t n = ::read(fd, stat, sizeof stat - 1);
  ::close(fd);
  if (n <= 0) return '?';
  stat[n] = '\0';
  const char* paren = std::strrchr(stat, ')');
  return paren && paren[1] == ' ' && paren[2] != '\0' ? paren[2] : '?';
}

// Waits until pred() holds or `within` has passed; true when pred() held. It yields rather than
// sleeps: for "the other process is now asleep in the futex", which no message can say.
template <class Pred>
bool spin_until(Pred pred, std::chrono::milliseconds within) {
  const auto deadline = std::chrono::steady_clock::now() + within;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    ::sched_yield();
  }
  return true;
}

// A few hundred cycles the optimiser cannot remove.
inline void dawdle() {
  for (int k = 0; k < 1000; ++k) asm volatile("" ::: "memory");
}

// One int in an anonymous MAP_SHARED page, deliberately incremented non-atomically.
class SharedInt {
 public:
  SharedInt() {
    void* p = ::mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    value_ = p == MAP_FAILED ? nullptr : static_cast<volatile int*>(p);
  }
  SharedInt(const SharedInt&) = delete;
  SharedInt& operator=(const SharedInt&) = delete;
  ~SharedInt() {
    if (value_) ::munmap(const_cast<int*>(value_), 4096);
  }
  // Read, dawdle, then write: two unlocked writers lose updates (checked by hand: without the
  // lock the tests count short).
  void increment() const {
    const int v = *value_;
    dawdle();
    *value_ = v + 1;
  }
  [[nodiscard]] int get() const { return *value_; }
  [[nodiscard]] volatile int* raw() const { return value_; }

 private:
  volatile int* value_ = nullptr;
};

// While alive, sends SIGUSR1 (a no-op handler installed without SA_RESTART) to the thread that
// made it every 100 us, so its blocking calls keep returning EINTR.
class SignalStorm {
 public:
  SignalStorm() : target_(::pthread_self()) {
    struct sigaction sa {};
    sa.sa_handler = [](int) { ++hits_; };
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;
    ::sigaction(SIGUSR1, &sa, &old_);
    thread_ = std::thread([this] {
      while (!stop_.load()) {
        ::pthread_kill(target_, SIGUSR1);
        std::this_thread::sleep_for(std::chrono::microseconds(100));
      }
    });
  }
  SignalStorm(const SignalStorm&) = delete;
  SignalStorm& operator=(const SignalStorm&) = delete;
  ~SignalStorm() {
    stop_.store(true);
    thread_.join();
    // Ignoring discards a signal still pending, which the default action would turn into death.
    struct sigaction ign {};
    ign.sa_handler = SIG_IGN;
    ::sigaction(SIGUSR1, &ign, nullptr);
    ::sigaction(SIGUSR1, &old_, nullptr);
  }
  [[nodiscard]] static int hits() { return hits_.load(); }

 private:
  static inline std::atomic<int> hits_{0};
  pthread_t target_;
  struct sigaction old_ {};
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace mproc::test
