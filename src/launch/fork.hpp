// launch: start a child process with the fork start method.
//
// fork_child() forks the calling thread with every signal blocked across the fork. The child
// puts signal dispositions back to their defaults (see sys::child::reset_signal_dispositions),
// arms PR_SET_PDEATHSIG(SIGKILL), re-checks that its parent is still the process that forked it
// (else it dies by SIGKILL at once, as the death signal would have done), restores the signal
// mask and runs `body`. Only async-signal-safe calls happen before `body`. fork_child() does not
// wait for the child (a round trip through the scheduler, a third of a fork's cost here): the
// child cannot outlive the forking thread either way, since it re-checks its parent after arming
// the death signal. A step of the child's start-up that fails (none does in practice) ends it
// with exit code 127, as a failed exec.
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

// Forks; throws SystemError if fork or pidfd_open failed.
[[nodiscard]] Child fork_child(ChildBody body, void* context);

}  // namespace mproc::launch
