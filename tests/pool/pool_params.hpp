// What the Pool suites need to run each case under every start method (fork, forkserver,
// spawn): a worker shares no memory with the test under forkserver and spawn, so
// - SharedState<T>: a T in a named SharedMemory the test makes (and unlinks when the case ends,
//   however it ends); a task gets its name as an argument and reaches it with attach_state<T>;
//   InitState<T>, for an initializer, which takes no argument, is found from the test's pid;
// - TempDir: a fresh directory for marker files and FIFOs, removed with what is in it;
// - Gate: a FIFO a task blocks on until the test opens it (where a pipe would not reach a
//   spawned worker);
// - App: this binary run again as the program whose pool a case kills or signals (a forked copy
//   of the test would not do: the forkserver serves only the process that ran init()).
#pragma once

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <new>
#include <stdexcept>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include "mproc/mproc.hpp"
#include "support/leak_check.hpp"

namespace mproc::test {

// The start method a case runs under, in its name: StartMethods/Pool.MapKeepsInputOrder/spawn.
class PoolParam : public ::testing::TestWithParam<StartMethod> {
 protected:
  [[nodiscard]] static PoolOptions opts(unsigned processes) {
    return PoolOptions{.processes = processes, .start_method = GetParam()};
  }
  [[nodiscard]] static bool forked() { return GetParam() == StartMethod::fork; }
};

inline std::string start_method_name(const ::testing::TestParamInfo<StartMethod>& info) {
  return std::string(to_string(info.param));
}

#define MPROC_ALL_START_METHODS(Suite)                                                \
  INSTANTIATE_TEST_SUITE_P(                                                           \
      StartMethods, Suite,                                                            \
      ::testing::Values(::mproc::StartMethod::fork, ::mproc::StartMethod::forkserver, \
                        ::mproc::StartMethod::spawn),                                 \
      ::mproc::test::start_method_name)

// A SharedState's name as a task argument: fixed-size, so an item that carries it (At) is still
// a bitwise value and takes the pool's packed path.
struct StateName {
  char text[96];
};
// One map item with the state it counts into.
struct At {
  StateName state;
  int x;
};

template <class T>
class SharedState {
  static_assert(std::is_trivially_destructible_v<T>);

 public:
  SharedState() : SharedState(shm_name("pool-state-" + std::to_string(next_id()))) {}
  // A state at a name of the caller's choosing (see InitState).
  explicit SharedState(const std::string& name)
      : shm_(SharedMemory::create(sizeof(T), checked(name))) {
    value_ = new (shm_.data()) T{};
    name.copy(ref_.text, name.size());
  }
  ~SharedState() {
    try {
      shm_.unlink();
    } catch (...) {
    }
  }
  SharedState(const SharedState&) = delete;
  SharedState& operator=(const SharedState&) = delete;
  T* operator->() const noexcept { return value_; }
  T& operator*() const noexcept { return *value_; }
  // What a task gets as its argument.
  [[nodiscard]] const StateName& name() const noexcept { return ref_; }
  // Each x of xs with this state.
  template <class R>
  [[nodiscard]] std::vector<At> at(R&& xs) const {
    std::vector<At> out;
    for (int x : xs) out.push_back(At{ref_, x});
    return out;
  }

 private:
  static const std::string& checked(const std::string& name) {
    if (name.size() >= sizeof(StateName{}.text)) throw std::length_error("state name too long");
    return name;
  }
  static int next_id() {
    static std::atomic<int> n{0};
    return n.fetch_add(1);
  }
  SharedMemory shm_;
  T* value_ = nullptr;
  StateName ref_{};
};

// In a task: the T of the SharedState named `name`, attached once per process.
template <class T>
T& attach_state(const StateName& name) {
  static std::mutex mu;
  static auto* attached = new std::map<std::string, SharedMemory>;  // never destroyed
  std::lock_guard lock(mu);
  const std::string key(name.text);
  auto it = attached->find(key);
  if (it == attached->end()) it = attached->emplace(key, SharedMemory::attach(key)).first;
  return *std::launder(reinterpret_cast<T*>(it->second.data()));
}

// The test process, seen from one of its pool's workers: the farthest ancestor running this
// same program (a forkserver worker's parent is the server, itself a child of the test).
inline int test_process_pid() {
  auto exe_of = [](int pid) {
    char buf[4096];
    const auto n = ::readlink(("/proc/" + std::to_string(pid) + "/exe").c_str(), buf, sizeof buf);
    return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string();
  };
  auto parent_of = [](int pid) {
    char buf[1024];
    const int fd = ::open(("/proc/" + std::to_string(pid) + "/stat").c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    const auto n = ::read(fd, buf, sizeof buf - 1);
    ::close(fd);
    if (n <= 0) return 0;
    buf[n] = '\0';
    const char* close_paren = std::strrchr(buf, ')');  // the name may hold spaces and parens
    int ppid = 0;
    return close_paren && std::sscanf(close_paren + 1, " %*c %d", &ppid) == 1 ? ppid : 0;
  };
  const std::string self = exe_of(::getpid());
  int pid = ::getpid();
  for (int p = parent_of(pid); p > 1 && exe_of(p) == self; p = parent_of(p)) pid = p;
  return pid;
}

// A state an initializer (a plain void(*)(), no arguments) reaches: its name follows from the
// test process's pid. One per test process at a time.
template <class T>
class InitState : public SharedState<T> {
 public:
  InitState() : SharedState<T>(name_for(::getpid())) {}
  // In an initializer or task.
  static T& attach() {
    StateName n{};
    const std::string s = name_for(test_process_pid());
    s.copy(n.text, std::min(s.size(), sizeof n.text - 1));
    return attach_state<T>(n);
  }

 private:
  static std::string name_for(int test_pid) {
    return "/" + std::string("mproc-test-") + std::to_string(test_pid) + "-pool-init-state";
  }
};

class TempDir {
 public:
  TempDir() {
    std::string t = (std::getenv("TMPDIR") ? std::getenv("TMPDIR") : "/tmp");
    t += "/mproc-pool-test-XXXXXX";
    if (::mkdtemp(t.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = t;
  }
  ~TempDir() {
    for (const auto& f : files_) ::unlink(f.c_str());
    ::rmdir(path_.c_str());
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  // A path in the directory, removed with it.
  std::string file(const std::string& name) {
    files_.push_back(path_ + "/" + name);
    return files_.back();
  }

 private:
  std::string path_;
  std::vector<std::string> files_;
};

// A FIFO in a TempDir, held open for writing by the test: a task's pass_gate(path) blocks until
// the test calls open(n), which lets n such reads through.
class Gate {
 public:
  explicit Gate(TempDir& dir) : path_(dir.file("gate")) {
    if (::mkfifo(path_.c_str(), 0600) != 0) throw std::runtime_error("mkfifo failed");
    // O_RDWR: does not wait for a reader, and keeps the FIFO from reporting end of file.
    fd_ = ::open(path_.c_str(), O_RDWR | O_CLOEXEC);
    if (fd_ < 0) throw std::runtime_error("open fifo failed");
  }
  ~Gate() { ::close(fd_); }
  Gate(const Gate&) = delete;
  Gate& operator=(const Gate&) = delete;
  [[nodiscard]] const std::string& path() const noexcept { return path_; }
  void open(int n) {
    const std::string bytes(static_cast<std::size_t>(n), 'x');
    if (::write(fd_, bytes.data(), bytes.size()) != static_cast<ssize_t>(bytes.size())) {
      throw std::runtime_error("write fifo failed");
    }
  }

 private:
  std::string path_;
  int fd_ = -1;
};

// In a task: blocks until the gate at `path` lets one through; returns 1.
inline int pass_gate(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw std::runtime_error("open gate failed");
  char c;
  const auto n = ::read(fd, &c, 1);
  ::close(fd);
  return static_cast<int>(n);
}

// The app: this binary run again on its case `filter` (a DISABLED_ one), a program of its own
// (mproc::init, its own forkserver), with `env` set and the write end of a pipe in
// MPROC_TEST_REPORT_FD; read what it reports from report_fd(). own_group: in a new process
// group (setpgid before exec), as a shell runs a job. The destructor SIGKILLs it if still
// running, then reaps what of it came back here (this process is a subreaper): its forkserver,
// its workers.
class App {
 public:
  App(const std::string& filter, const std::vector<std::pair<std::string, std::string>>& env,
      bool own_group = false) {
    char exe[4096];
    const auto n = ::readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) throw std::runtime_error("readlink /proc/self/exe failed");
    exe[n] = '\0';
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
    // Everything the child needs, made before fork: after it, only async-signal-safe calls.
    std::string filter_arg = "--gtest_filter=" + filter;
    std::string all_tests = "--gtest_also_run_disabled_tests";
    char* argv[] = {exe, all_tests.data(), filter_arg.data(), nullptr};
    std::vector<std::string> vars{"MPROC_TEST_REPORT_FD=" + std::to_string(fds[1])};
    for (const auto& [k, v] : env) vars.push_back(k + "=" + v);
    std::vector<char*> envp;
    for (auto& v : vars) envp.push_back(v.data());  // first: getenv finds these
    for (char** e = environ; *e != nullptr; ++e) envp.push_back(*e);
    envp.push_back(nullptr);
    pid_ = ::fork();
    if (pid_ == 0) {
      if (own_group) ::setpgid(0, 0);
      ::fcntl(fds[1], F_SETFD, 0);  // the app inherits the write end
      ::execve(exe, argv, envp.data());
      ::_exit(99);
    }
    ::close(fds[1]);
    report_ = fds[0];
    if (pid_ < 0) {
      ::close(report_);
      throw std::runtime_error("fork failed");
    }
  }
  ~App() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      (void)wait();
    }
    ::close(report_);
    // Orphans of the app come back here as it dies; they die with it (within 2 s, with margin).
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    for (;;) {
      while (::waitpid(-1, nullptr, WNOHANG) > 0) {
      }
      if (children().empty() || std::chrono::steady_clock::now() >= deadline) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));  // polling, with a deadline
    }
  }
  App(const App&) = delete;
  App& operator=(const App&) = delete;
  [[nodiscard]] int pid() const noexcept { return pid_; }
  [[nodiscard]] int report_fd() const noexcept { return report_; }
  // Reads exactly `size` bytes the app reported; false if it ended first.
  // The pids an app reported with report_pids, in order; empty when it reported none.
  [[nodiscard]] std::vector<int> read_pids() const {
    int n = 0;
    if (!read_report(&n, sizeof n) || n < 0 || n > (1 << 16)) return {};
    std::vector<int> pids(static_cast<std::size_t>(n));
    if (!read_report(pids.data(), sizeof(int) * pids.size())) return {};
    return pids;
  }
  [[nodiscard]] bool read_report(void* out, std::size_t size) const {
    auto* p = static_cast<char*>(out);
    while (size > 0) {
      const auto r = ::read(report_, p, size);
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) return false;
      p += r;
      size -= static_cast<std::size_t>(r);
    }
    return true;
  }
  // Reaps the app; its wait status.
  int wait() {
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    pid_ = 0;
    return status;
  }

  // In the app: what the test set.
  [[nodiscard]] static std::string env(const char* key) {
    const char* v = std::getenv(key);
    return v ? v : "";
  }
  [[nodiscard]] static StartMethod start_method() {
    const std::string m = env("MPROC_POOL_APP_METHOD");
    for (auto s : {StartMethod::fork, StartMethod::forkserver, StartMethod::spawn}) {
      if (m == to_string(s)) return s;
    }
    throw std::runtime_error("MPROC_POOL_APP_METHOD unset");
  }
  // In the app: sends `size` bytes to the test.
  static void report(const void* data, std::size_t size) {
    const int fd = std::atoi(env("MPROC_TEST_REPORT_FD").c_str());
    if (::write(fd, data, size) != static_cast<ssize_t>(size)) ::_exit(98);
  }
  // In the app: reports pids (a pool's workers) for the test's read_pids().
  static void report_pids(const std::vector<int>& pids) {
    const int n = static_cast<int>(pids.size());
    report(&n, sizeof n);
    report(pids.data(), sizeof(int) * pids.size());
  }

 private:
  int pid_ = 0;
  int report_ = -1;
};

}  // namespace mproc::test
