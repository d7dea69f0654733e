// Process handles: pidfd_open, pidfd_send_signal, waitid(P_PIDFD). A pidfd names one process
// for its whole life (no pid reuse races) and becomes readable when that process exits.
#pragma once

#include <optional>

#include "sys/unique_fd.hpp"

namespace mproc::sys {

// pidfd_open(pid, 0); the fd is close-on-exec. Throws SystemError("pidfd_open").
[[nodiscard]] UniqueFd pidfd_open(int pid);

// Sends sig to the process behind pidfd. Returns false when the process is already gone
// (ESRCH); throws SystemError("pidfd_send_signal") on any other failure.
bool pidfd_send_signal(int pidfd, int sig);

// Reaps the child behind pidfd with waitid(P_PIDFD, WEXITED). Returns its exit code, or -N when
// a signal N killed it. With `block` false, returns nullopt if it has not exited yet. EINTR is
// retried. Throws SystemError("waitid") (ECHILD: someone else reaped it).
[[nodiscard]] std::optional<int> reap_pidfd(int pidfd, bool block);

// The same, as a no-throw call for destructors: returns nullopt on any failure.
std::optional<int> reap_pidfd_noexcept(int pidfd, bool block) noexcept;

}  // namespace mproc::sys
