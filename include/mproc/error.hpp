// mproc/error.hpp — every error mproc reports.
//
// All derive from mproc::Error (itself a std::runtime_error), so one `catch (const mproc::Error&)`
// handles everything the library throws. Each what() reads like a bug report:
//
//   try { conn.recv(); }
//   catch (const mproc::EOFError&) { /* the peer closed or died */ }
//   catch (const mproc::SystemError& e) { e.call(); e.code(); }  // "recvmsg: Connection reset..."
//
// Errors are plain values: copyable, thread-safe to read, and they carry no fds or pointers, so
// an error raised in a worker can be rebuilt in the parent from its fields.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace mproc {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A system call failed. what() is "<call>: <strerror text>", e.g. "memfd_create: Too many open
// files".
class SystemError : public Error {
 public:
  SystemError(std::string call, std::error_code code);
  [[nodiscard]] const std::string& call() const noexcept { return call_; }
  [[nodiscard]] std::error_code code() const noexcept { return code_; }

 private:
  std::string call_;
  std::error_code code_;
};

// Bytes that do not decode as the expected type: truncated, hostile, too large, trailing garbage.
class DecodeError : public Error {
 public:
  using Error::Error;
};

// recv/get on a connection or queue whose other side closed or died.
class EOFError : public Error {
 public:
  EOFError() : Error("EOF: the other side closed the connection") {}
  using Error::Error;
};

// A task threw in a worker. index() is the input's position for map-like calls, 0 for apply.
// rank() is the MPI rank whose worker ran it (mpi/pool.hpp), empty for a local pool.
class RemoteError : public Error {
 public:
  RemoteError(std::string type_name, std::string remote_what, int pid, std::size_t index);
  RemoteError(std::string type_name, std::string remote_what, int pid, std::size_t index,
              int rank);
  [[nodiscard]] const std::string& type_name() const noexcept { return type_name_; }
  [[nodiscard]] const std::string& remote_what() const noexcept { return remote_what_; }
  [[nodiscard]] int pid() const noexcept { return pid_; }
  [[nodiscard]] std::size_t index() const noexcept { return index_; }
  [[nodiscard]] std::optional<int> rank() const noexcept { return rank_; }

 private:
  std::string type_name_;
  std::string remote_what_;
  int pid_;
  std::size_t index_;
  std::optional<int> rank_{};
};

// The worker died while running a task: a signal, an exit (even exit code 0), an OOM kill.
// what() reads like a bug report:
//
//   worker 4242 crashed running task #97: killed by SIGSEGV (Segmentation fault) at address 0x0
//     stack at the crash:
//       #0 0x55d0c1a2b3c4 crash_here(int) (+0x1c)
//       #1 0x55d0c1a2b400 run_task(Task&) (+0x40)
class WorkerCrashed : public Error {
 public:
  struct Info {
    std::optional<int> signal{};     // set when killed by a signal
    std::optional<int> exit_code{};  // set when it exited
    int pid = 0;
    std::size_t index = 0;
    bool oom_killed = false;
    std::string backtrace{};  // the frames as one text, one per line; empty when none collected
    // The faulting address of a SIGSEGV/SIGBUS, as the worker's crash handler saw it. what()
    // shows it only for those signals and only when the handler reported (frames or backtrace
    // non-empty), since 0 is both "unknown" and the classic null dereference.
    std::uint64_t fault_address = 0;
    std::vector<std::string> frames{};  // "#0 0x55d0c1a2b3c4 crash_here(int) (+0x1c)", innermost
                                        // first; empty when none collected
    // The item's input, saved for mproc::replay (PoolOptions::replay_dir); empty when none.
    std::filesystem::path replay_file{};
  };
  explicit WorkerCrashed(Info info);
  [[nodiscard]] std::optional<int> signal() const noexcept { return info_.signal; }
  [[nodiscard]] std::optional<int> exit_code() const noexcept { return info_.exit_code; }
  [[nodiscard]] int pid() const noexcept { return info_.pid; }
  [[nodiscard]] std::size_t index() const noexcept { return info_.index; }
  [[nodiscard]] bool oom_killed() const noexcept { return info_.oom_killed; }
  [[nodiscard]] const std::string& backtrace() const noexcept { return info_.backtrace; }
  [[nodiscard]] std::uint64_t fault_address() const noexcept { return info_.fault_address; }
  [[nodiscard]] const std::vector<std::string>& frames() const noexcept { return info_.frames; }
  // The saved input (mproc::replay), or empty.
  [[nodiscard]] const std::filesystem::path& replay_file() const noexcept {
    return info_.replay_file;
  }

 private:
  Info info_;
};

// Which of the pool's time limits ended a task.
enum class TimeoutLimit {
  soft,  // PoolOptions::soft_timeout: the task was asked to stop and ended by throwing
  hard,  // PoolOptions::task_timeout: its worker was killed and replaced
};

// The task ran past a time limit: past task_timeout (hard: its worker was killed and replaced),
// or past soft_timeout, after which it was asked to stop and threw (soft: the worker lives on).
class TaskTimeout : public Error {
 public:
  struct Info {
    TimeoutLimit limit = TimeoutLimit::hard;
    std::chrono::milliseconds timeout{0};  // the limit's value
    int pid = 0;
    std::size_t index = 0;
    std::string task_error{};  // soft: "<type>: <what>" of the exception the task ended with
    std::filesystem::path replay_file{};  // the input saved for mproc::replay, or empty
  };
  // A hard timeout.
  TaskTimeout(std::chrono::milliseconds timeout, int pid, std::size_t index);
  explicit TaskTimeout(Info info);
  [[nodiscard]] TimeoutLimit limit() const noexcept { return info_.limit; }
  [[nodiscard]] std::chrono::milliseconds timeout() const noexcept { return info_.timeout; }
  [[nodiscard]] int pid() const noexcept { return info_.pid; }
  [[nodiscard]] std::size_t index() const noexcept { return info_.index; }
  [[nodiscard]] const std::string& task_error() const noexcept { return info_.task_error; }
  [[nodiscard]] const std::filesystem::path& replay_file() const noexcept {
    return info_.replay_file;
  }

 private:
  Info info_;
};

// Work submitted after close() or terminate().
class PoolClosed : public Error {
 public:
  PoolClosed() : Error("pool is closed: no work can be submitted after close() or terminate()") {}
};

// get() on a cancelled future (or a pending one when the pool was terminated).
class Cancelled : public Error {
 public:
  Cancelled() : Error("the task was cancelled") {}
  using Error::Error;
};

// The previous holder of a process-shared lock died holding it. The thrower now holds the lock
// and may repair the state it guards.
class OwnerDied : public Error {
 public:
  OwnerDied() : Error("the lock's previous owner died while holding it; the caller now holds it") {}
  using Error::Error;
};

namespace detail {
// Throws SystemError for `call` with the given errno value.
[[noreturn]] void throw_errno(std::string_view call, int err);
// Throws SystemError for `call` with the current errno.
[[noreturn]] void throw_errno(std::string_view call);
}  // namespace detail

}  // namespace mproc
