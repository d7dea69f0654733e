#include "launch/fork.hpp"

#include <csignal>
#include <cstdint>
#include <type_traits>

#include "mproc/error.hpp"
#include "sys/fork.hpp"
#include "sys/pidfd.hpp"
#include "sys/poll.hpp"

namespace mproc::launch {
namespace {

// What the child tells its parent once, over the start-up pipe.
struct StartupReport {
  std::int32_t step;   // Step
  std::int32_t error;  // errno value when step != kReady
};
static_assert(std::is_trivially_copyable_v<StartupReport>);

enum Step : std::int32_t { kReady = 0, kResetSignals, kDeathSignal, kSignalMask };

const char* step_call(std::int32_t step) {
  switch (step) {
    case kResetSignals:
      return "child start-up: sigaction";
    case kDeathSignal:
      return "child start-up: prctl(PR_SET_PDEATHSIG)";
    case kSignalMask:
      return "child start-up: pthread_sigmask";
    default:
      return "child start-up";
  }
}

[[noreturn]] void report_and_exit(int fd, Step step, int error) noexcept {
  StartupReport r{step, error};
  sys::child::write_all(fd, &r, sizeof r);
  sys::child::exit_now(127);
}

// The child, between fork and body: async-signal-safe calls only.
[[noreturn]] void run_child(int parent, const sys::SignalMask& mask, int read_end, int write_end,
                            ChildBody body, void* context) noexcept {
  sys::child::close_fd(read_end);
  if (int err = sys::child::reset_signal_dispositions()) {
    report_and_exit(write_end, kResetSignals, err);
  }
  if (int err = sys::child::die_with_parent(parent)) report_and_exit(write_end, kDeathSignal, err);
  if (int err = sys::child::set_signal_mask(mask)) report_and_exit(write_end, kSignalMask, err);
  StartupReport ready{kReady, 0};
  sys::child::write_all(write_end, &ready, sizeof ready);
  sys::child::close_fd(write_end);
  sys::child::exit_now(body(context));
}

// Blocks every signal for its lifetime: the child must not run a parent's handler before it
// has reset them, and the parent must not be interrupted between fork and pidfd_open.
class BlockedSignals {
 public:
  BlockedSignals() : old_(sys::block_all_signals()) {}
  ~BlockedSignals() { sys::restore_signal_mask(old_); }
  BlockedSignals(const BlockedSignals&) = delete;
  BlockedSignals& operator=(const BlockedSignals&) = delete;
  [[nodiscard]] const sys::SignalMask& old() const { return old_; }

 private:
  sys::SignalMask old_;
};

}  // namespace

Child fork_child(ChildBody body, void* context) {
  auto pipe = sys::make_cloexec_pipe();
  const int parent = sys::current_pid();
  Child child;
  {
    BlockedSignals blocked;
    child.pid = sys::fork_process();
    if (child.pid == 0) {
      run_child(parent, blocked.old(), pipe.read.get(), pipe.write.get(), body, context);
    }
    try {
      child.pidfd = sys::pidfd_open(child.pid);
    } catch (...) {
      sys::kill_and_reap(child.pid);
      throw;
    }
  }
  pipe.write.reset();

  // Wait for the report. Watch the pidfd too: a child forked meanwhile by another thread may
  // hold a copy of the write end, so end-of-file alone would not tell us the child died.
  const int fds[2] = {pipe.read.get(), child.pidfd.get()};
  bool ready[2] = {false, false};
  StartupReport report{kReady, 0};
  try {
    (void)sys::wait_readable(fds, ready, std::nullopt);
    if (ready[0] && sys::read_full(pipe.read.get(), &report, sizeof report) != sizeof report) {
      report = {kReady, 0};  // died before reporting: the caller sees how through the pidfd
    }
  } catch (...) {
    sys::kill_and_reap(child.pid);
    throw;
  }
  if (report.step != kReady) {
    (void)sys::reap_pidfd_noexcept(child.pidfd.get(), true);
    detail::throw_errno(step_call(report.step), report.error);
  }
  return child;
}

}  // namespace mproc::launch
