#include "mproc/process.hpp"


#include <atomic>
#include <csignal>
#include <cstdint>
#include <cstdlib>
#include <exception>
#include <iostream>
#include <mutex>

#include "error/exception_info.hpp"
#include "launch/fork.hpp"
#include "launch/forkserver.hpp"
#include "launch/spawn.hpp"
#include "mproc/codec.hpp"
#include "mproc/detail/remote_call.hpp"
#include "process/process_role.hpp"
#include "mproc/error.hpp"
#include "sys/fork.hpp"
#include "sys/pidfd.hpp"
#include "sys/poll.hpp"

namespace mproc {
namespace {

// Python-style numbering: "Process-N" in the main process, "Process-N:M" in the children of
// child N. The counter is process-wide by nature; a child resets it (see child_main).
struct Naming {
  std::atomic<unsigned> counter{0};
  std::string prefix;  // "" in the main process, "N:" in child N; written only right after fork
};

Naming& naming() {
  static Naming n;
  return n;
}

constexpr auto kDaemonGrace = std::chrono::seconds(1);

}  // namespace

namespace detail {
struct ProcessState {
  std::unique_ptr<detail::ProcessTask> task;
  std::string name;
  std::string child_prefix;  // naming().prefix inside the child: "<identity>:"
  bool daemon = false;
  StartMethod method = StartMethod::fork;
  int creator_pid = 0;

  std::atomic<int> pid{0};
  std::mutex mu;  // guards what follows; never taken in a child (creator check comes first)
  bool started = false;
  sys::UniqueFd pidfd;          // set once, in start()
  std::optional<int> exitcode;  // set once the child was reaped
};
}  // namespace detail

using detail::ProcessState;

namespace {

void flush_all() noexcept {
  try {
    std::cout.flush();
    std::clog.flush();
    std::cerr.flush();
  } catch (...) {  // a stream with exceptions() enabled
  }
  sys::child::flush_stdio();
}

// Called inside a catch (...) in the child: one line on stderr, in one write.
void report_uncaught_exception(const std::string& name) noexcept {
  try {
    const detail::ExceptionInfo e = detail::current_exception_info();
    std::string line = "Process " + name + " (pid " + std::to_string(sys::current_pid()) +
                       "): uncaught exception " + e.type_name + (e.std_exception ? ": " : " ") +
                       e.what + "\n";
    sys::child::write_all(2, line.data(), line.size());
  } catch (...) {
    static constexpr char kFallback[] = "mproc: uncaught exception in a child process\n";
    sys::child::write_all(2, kFallback, sizeof kFallback - 1);
  }
}

// Runs in the child after launch's start-up; the result is the exit code.
int child_main(void* context) noexcept {
  auto& s = *static_cast<ProcessState*>(context);
  // Swap, not assign: nothing allocates between fork and the user's function.
  naming().prefix.swap(s.child_prefix);
  naming().counter.store(0, std::memory_order_relaxed);
  try {
    s.task->run();
  } catch (...) {
    flush_all();
    report_uncaught_exception(s.name);
    return 1;
  }
  flush_all();
  return 0;
}

// What a spawned child needs besides the call: its name, its children's name prefix, and the
// starting thread's signal mask (a fork child keeps it; a forkserver child would have the
// server's).
struct ProcessStart {
  std::string name;
  std::string prefix;
  std::vector<std::byte> call;
  std::uint64_t blocked_signals = 0;
  template <class Ar>
  void serialize(Ar& ar) {
    ar(name, prefix, call, blocked_signals);
  }
};

void check_creator(const ProcessState& s, const char* what) {
  const int me = sys::current_pid();
  if (me == s.creator_pid) return;
  throw Error(std::string("Process::") + what + ": Process " + s.name + " belongs to process " +
              std::to_string(s.creator_pid) + ", but this is process " + std::to_string(me) +
              " (a forked copy); only the process that created a Process may start or control it");
}

void check_started(const ProcessState& s, const char* what) {
  if (!s.started) {
    throw Error(std::string("Process::") + what + ": Process " + s.name +
                " has not been started; call start() first");
  }
}

// The child's exit code once it has exited (a forkserver child's comes from the server).
std::optional<int> reap(ProcessState& s, bool block) {
  return launch::reap_child(s.pid.load(std::memory_order_relaxed), s.pidfd.get(),
                            s.method == StartMethod::forkserver, block);
}

// Reaps the child if it has exited. Requires s.mu held and s.started.
// The pidfd decides: once it is readable the child has ended, even if the forkserver has not
// reported its status yet (then it is imminent, and worth the wait).
void poll_exit(ProcessState& s) {
  if (!s.exitcode && sys::wait_readable(s.pidfd.get(), std::chrono::nanoseconds::zero())) {
    s.exitcode = reap(s, true);
  }
}

// Waits (without holding the lock) for the pidfd, then reaps. True once reaped.
bool wait_and_reap(ProcessState& s, const char* what,
                   std::optional<std::chrono::nanoseconds> timeout) {
  check_creator(s, what);
  {
    std::lock_guard lock(s.mu);
    check_started(s, what);
    if (s.exitcode) return true;
  }
  if (!sys::wait_readable(s.pidfd.get(), timeout)) return false;
  std::lock_guard lock(s.mu);
  // A pidfd is readable once the whole process has exited, so this reap does not block.
  if (!s.exitcode) s.exitcode = reap(s, true);
  return true;
}

void send_signal(ProcessState& s, const char* what, int sig) {
  check_creator(s, what);
  std::lock_guard lock(s.mu);
  check_started(s, what);
  if (s.exitcode) return;  // reaped: the pid may belong to someone else now (not the pidfd)
  sys::pidfd_send_signal(s.pidfd.get(), sig);
}

// The destructor's work: join a non-daemon, stop a daemon; always reap; never throw.
void finish(ProcessState& s) noexcept {
  if (sys::current_pid() != s.creator_pid) return;  // a copy in a child: the child is not ours
  if (!s.started || s.exitcode || !s.pidfd) return;
  const int fd = s.pidfd.get();
  if (s.daemon) {
    bool ended = false;
    try {
      sys::pidfd_send_signal(fd, SIGTERM);
      ended = sys::wait_readable(fd, kDaemonGrace);
    } catch (...) {
    }
    if (!ended) {
      try {
        sys::pidfd_send_signal(fd, SIGKILL);
      } catch (...) {
      }
    }
  }
  // Wait on the pidfd first: a forkserver reap waits under the lock every start and reap of the
  // program shares, so it must begin only once the child has ended.
  try {
    (void)sys::wait_readable(fd, std::nullopt);
  } catch (...) {
  }
  s.exitcode = launch::reap_child_noexcept(s.pid.load(std::memory_order_relaxed), fd,
                                           s.method == StartMethod::forkserver);
}

}  // namespace

std::vector<std::byte> detail::process_start_message(const std::string& name,
                                                     const std::string& child_prefix,
                                                     std::span<const std::byte> call) {
  return encode(ProcessStart{name, child_prefix, std::vector<std::byte>(call.begin(), call.end()),
                             sys::blocked_signals()});
}

void detail::run_spawned_process(std::span<const std::byte> message,
                                 std::span<UniqueFd> fds) noexcept {
  std::string name = "Process";
  try {
    ProcessStart start = decode<ProcessStart>(message);
    name = std::move(start.name);
    naming().prefix = std::move(start.prefix);
    naming().counter.store(0, std::memory_order_relaxed);
    sys::set_blocked_signals(start.blocked_signals);
    const detail::RemoteFdScope scope(fds);  // handle arguments take theirs from here
    detail::run_remote_call(start.call);
  } catch (...) {
    flush_all();
    report_uncaught_exception(name);
    sys::child::exit_now(1);
  }
  flush_all();
  sys::child::exit_now(0);
}

Process::Process(ProcessOptions options, std::unique_ptr<detail::ProcessTask> task)
    : impl_(std::make_unique<ProcessState>()) {
  Naming& n = naming();
  const std::string identity =
      n.prefix + std::to_string(n.counter.fetch_add(1, std::memory_order_relaxed) + 1);
  impl_->task = std::move(task);
  impl_->name = options.name.empty() ? "Process-" + identity : std::move(options.name);
  impl_->child_prefix = identity + ":";
  impl_->daemon = options.daemon;
  impl_->method = options.start_method.value_or(get_start_method());
  impl_->creator_pid = sys::current_pid();
}

Process::Process(Process&& other) noexcept = default;

Process& Process::operator=(Process&& other) noexcept {
  if (this != &other) {
    if (impl_) finish(*impl_);
    impl_ = std::move(other.impl_);
  }
  return *this;
}

Process::~Process() {
  if (impl_) finish(*impl_);
}

ProcessState& Process::impl() const {
  if (!impl_) throw Error("use of a moved-from mproc::Process");
  return *impl_;
}

void Process::start() {
  ProcessState& s = impl();
  check_creator(s, "start");
  // Encoded before the lock: it may throw for a task that cannot cross an exec.
  std::vector<std::byte> message;
  std::vector<int> pass_fds;  // handle arguments' fds, borrowed from the task's own copies
  if (s.method != StartMethod::fork) {
    const detail::RemoteFdScope scope(pass_fds);
    message = detail::process_start_message(s.name, s.child_prefix, s.task->remote_call());
  }
  // Held across the fork so no other thread sees a half-started Process. The child never takes
  // it: every member function checks the creator's pid first.
  std::lock_guard lock(s.mu);
  if (s.started) {
    throw Error("Process::start: Process " + s.name +
                " was already started; a Process can be started only once");
  }
  launch::Child child;
  switch (s.method) {
    case StartMethod::fork:
      child = launch::fork_child(&child_main, &s);
      break;
    case StartMethod::spawn:
      child = launch::spawn_child(launch::Role::process, message, pass_fds);
      break;
    case StartMethod::forkserver:
      child = launch::forkserver_child(launch::Role::process, message, pass_fds);
      break;
  }
  s.pidfd = std::move(child.pidfd);
  s.pid.store(child.pid, std::memory_order_release);
  s.started = true;
}

void Process::join() { (void)wait_and_reap(impl(), "join", std::nullopt); }

bool Process::join_for(std::chrono::nanoseconds timeout) {
  return wait_and_reap(impl(), "join", std::max(timeout, std::chrono::nanoseconds(0)));
}

bool Process::is_alive() {
  ProcessState& s = impl();
  check_creator(s, "is_alive");
  std::lock_guard lock(s.mu);
  if (!s.started) return false;
  poll_exit(s);
  return !s.exitcode.has_value();
}

int Process::pid() const noexcept { return impl_ ? impl_->pid.load(std::memory_order_acquire) : 0; }

std::string Process::name() const { return impl().name; }

bool Process::daemon() const noexcept { return impl_ && impl_->daemon; }

std::optional<int> Process::exitcode() {
  ProcessState& s = impl();
  check_creator(s, "exitcode");
  std::lock_guard lock(s.mu);
  if (!s.started) return std::nullopt;
  poll_exit(s);
  return s.exitcode;
}

void Process::terminate() { send_signal(impl(), "terminate", SIGTERM); }

void Process::kill() { send_signal(impl(), "kill", SIGKILL); }

int Process::sentinel() const {
  ProcessState& s = impl();
  check_creator(s, "sentinel");
  std::lock_guard lock(s.mu);
  check_started(s, "sentinel");
  return s.pidfd.get();
}

}  // namespace mproc
