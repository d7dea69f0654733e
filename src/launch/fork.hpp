// launch: start a child process with the fork start method.
//
// fork_child() forks the calling thread with every signal blocked across the fork. The child
// puts signal dispositions back to their defaults (see sys::child::reset_signal_dispositions),
// arms PR_SET_PDEATHSIG(SIGKILL), re-checks that its parent is still the process that forked it
// (else it dies by SIGKILL at once, as the death signal would have done), restores the signal
// mask, reports "ready" over a close-on-exec pipe and runs `body`. Only async-signal-safe calls
// happen before `body`. fork_child() returns only after the child reported: from then on the
// child cannot outlive the forking thread. A start-up failure in the child comes back as a
// SystemError naming the failed step, and the child is reaped.
//
// PR_SET_PDEATHSIG fires when the forking *thread* exits, not the process: fork from a thread
// that lives as long as the child should.
#pragma once

#include "sys/unique_fd.hpp"

namespace mproc::launch {

struct Child {
  int pid = 0;
  sys::UniqueFd pidfd;  // readable once the child exits; waitid(P_PIDFD) reaps it
};

// Runs in the child; its result is the child's exit code (passed to _exit). It may also end the
// process itself; it must not throw.
using ChildBody = int (*)(void* context) noexcept;

// Forks; throws SystemError if fork, pidfd_open or the child's start-up failed.
[[nodiscard]] Child fork_child(ChildBody body, void* context);

}  // namespace mproc::launch
