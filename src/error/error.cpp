#include "mproc/error.hpp"

#include <cerrno>
#include <csignal>
#include <cstring>

namespace mproc {
namespace {

std::string signal_name(int sig) {
  const char* d = ::sigdescr_np(sig);
  return "signal " + std::to_string(sig) + (d ? " (" + std::string(d) + ")" : std::string());
}

std::string crashed_what(const WorkerCrashed::Info& i) {
  std::string s = "worker " + std::to_string(i.pid) + " crashed while running input #" +
                  std::to_string(i.index) + ": ";
  if (i.signal) {
    s += "killed by " + signal_name(*i.signal);
  } else if (i.exit_code) {
    s += "exited with code " + std::to_string(*i.exit_code);
  } else {
    s += "died";
  }
  if (i.oom_killed) s += " (killed by the OOM killer)";
  return s;
}

}  // namespace

SystemError::SystemError(std::string call, std::error_code code)
    : Error(call + ": " + code.message()), call_(std::move(call)), code_(code) {}

RemoteError::RemoteError(std::string type_name, std::string remote_what, int pid,
                         std::size_t index)
    : Error("task #" + std::to_string(index) + " raised " + type_name + " in worker " +
            std::to_string(pid) + ": " + remote_what),
      type_name_(std::move(type_name)),
      remote_what_(std::move(remote_what)),
      pid_(pid),
      index_(index) {}

WorkerCrashed::WorkerCrashed(Info info) : Error(crashed_what(info)), info_(std::move(info)) {}

TaskTimeout::TaskTimeout(std::chrono::milliseconds timeout, int pid, std::size_t index)
    : Error("task #" + std::to_string(index) + " ran past its timeout of " +
            std::to_string(timeout.count()) + " ms in worker " + std::to_string(pid) +
            "; the worker was killed"),
      timeout_(timeout),
      pid_(pid),
      index_(index) {}

namespace detail {

void throw_errno(std::string_view call, int err) {
  throw SystemError(std::string(call), std::error_code(err, std::system_category()));
}

void throw_errno(std::string_view call) { throw_errno(call, errno); }

}  // namespace detail
}  // namespace mproc
