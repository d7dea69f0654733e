#include "mproc/error.hpp"

#include <cerrno>
#include <csignal>
#include <cstring>

#include "sys/signal_name.hpp"
#include "sys/symbolize.hpp"

namespace mproc {
namespace {

std::string crashed_what(const WorkerCrashed::Info& i) {
  const std::string who = "worker " + std::to_string(i.pid);
  const std::string task = "task #" + std::to_string(i.index);
  std::string s;
  if (i.signal) {
    s = who + " crashed running " + task + ": killed by " + sys::signal_name(*i.signal) + " (" +
        sys::signal_description(*i.signal) + ")";
    const bool reported = !i.frames.empty() || !i.backtrace.empty();
    if (reported && (*i.signal == SIGSEGV || *i.signal == SIGBUS)) {
      s += " at address " + sys::hex(i.fault_address);
    }
  } else if (i.exit_code) {
    s = who + " exited with code " + std::to_string(*i.exit_code) + " while running " + task;
  } else {
    s = who + " died while running " + task;
  }
  if (i.oom_killed) s += " \u2014 killed by the kernel's OOM killer";
  if (!i.frames.empty()) {
    s += "\n  stack at the crash:";
    for (const auto& f : i.frames) s += "\n    " + f;
  } else if (!i.backtrace.empty()) {
    s += "\n  stack at the crash:\n";
    s += i.backtrace;
    while (!s.empty() && s.back() == '\n') s.pop_back();
  }
  if (!i.replay_file.empty()) s += "\n  input saved for mproc::replay: " + i.replay_file.string();
  return s;
}

std::string timeout_what(const TaskTimeout::Info& i) {
  std::string s = "task #" + std::to_string(i.index);
  if (i.limit == TimeoutLimit::soft) {
    s += " was asked to stop at its soft timeout of " + std::to_string(i.timeout.count()) +
         " ms in worker " + std::to_string(i.pid) + " and ended by raising " +
         (i.task_error.empty() ? std::string("an exception") : i.task_error);
  } else {
    s += " ran past its timeout of " + std::to_string(i.timeout.count()) + " ms in worker " +
         std::to_string(i.pid) + "; the worker was killed";
  }
  if (!i.replay_file.empty()) s += "\n  input saved for mproc::replay: " + i.replay_file.string();
  return s;
}

}  // namespace

SystemError::SystemError(std::string call, std::error_code code)
    : Error(call + ": " + code.message()), call_(std::move(call)), code_(code) {}

RemoteError::RemoteError(std::string type_name, std::string remote_what, int pid, std::size_t index)
    : Error("task #" + std::to_string(index) + " raised " + type_name + " in worker " +
            std::to_string(pid) + ": " + remote_what),
      type_name_(std::move(type_name)),
      remote_what_(std::move(remote_what)),
      pid_(pid),
      index_(index) {}

RemoteError::RemoteError(std::string type_name, std::string remote_what, int pid, std::size_t index,
                         int rank)
    : Error("task #" + std::to_string(index) + " raised " + type_name + " in worker " +
            std::to_string(pid) + " on rank " + std::to_string(rank) + ": " + remote_what),
      type_name_(std::move(type_name)),
      remote_what_(std::move(remote_what)),
      pid_(pid),
      index_(index),
      rank_(rank) {}

WorkerCrashed::WorkerCrashed(Info info) : Error(crashed_what(info)), info_(std::move(info)) {}

TaskTimeout::TaskTimeout(std::chrono::milliseconds timeout, int pid, std::size_t index)
    : TaskTimeout(Info{TimeoutLimit::hard, timeout, pid, index}) {}

TaskTimeout::TaskTimeout(Info info) : Error(timeout_what(info)), info_(std::move(info)) {}

namespace detail {

void throw_errno(std::string_view call, int err) {
  throw SystemError(std::string(call), std::error_code(err, std::system_category()));
}

void throw_errno(std::string_view call) { throw_errno(call, errno); }

}  // namespace detail
}  // namespace mproc
