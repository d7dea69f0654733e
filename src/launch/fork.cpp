#include "launch/fork.hpp"

#include <csignal>

#include "mproc/error.hpp"
#include "sys/fork.hpp"
#include "sys/pidfd.hpp"

namespace mproc::launch {
namespace {

// The child, between fork and body: async-signal-safe calls only. A step that fails ends it
// with 127, as a failed exec would (and as a spawned child that cannot start does).
[[noreturn]] void run_child(int parent, const sys::SignalMask& mask, ChildBody body,
                            void* context) noexcept {
  if (sys::child::reset_signal_dispositions() != 0) sys::child::exit_now(127);
  if (sys::child::die_with_parent(parent) != 0) sys::child::exit_now(127);
  if (sys::child::set_signal_mask(mask) != 0) sys::child::exit_now(127);
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
  const int parent = sys::current_pid();
  Child child;
  BlockedSignals blocked;
  child.pid = sys::fork_process();
  if (child.pid == 0) run_child(parent, blocked.old(), body, context);
  try {
    child.pidfd = sys::pidfd_open(child.pid);
  } catch (...) {
    sys::kill_and_reap(child.pid);
    throw;
  }
  return child;
}

}  // namespace mproc::launch
