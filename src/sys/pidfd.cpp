#include "sys/pidfd.hpp"

#include <signal.h>
// glibc 2.36's <sys/pidfd.h> lacks extern "C" (fixed in 2.37).
extern "C" {
#include <sys/pidfd.h>
}
#include <sys/wait.h>

#include <cerrno>

#include "sys/check.hpp"

// glibc 2.36 knows pidfds but not yet the idtype for waitid (linux/wait.h, Linux 5.4).
#ifndef P_PIDFD
#define P_PIDFD 3
#endif

namespace mproc::sys {
namespace {

// Returns 0 and fills `code`, returns 1 when not exited (non-blocking), or -1 with errno set.
int reap_raw(int pidfd, bool block, int& code) noexcept {
  siginfo_t info{};
  int flags = WEXITED | (block ? 0 : WNOHANG);
  int r = retry_eintr([&] {
    return ::waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(pidfd), &info, flags);
  });
  if (r == -1) return -1;
  if (info.si_pid == 0) return 1;  // WNOHANG and still running
  code = info.si_code == CLD_EXITED ? info.si_status : -info.si_status;
  return 0;
}

}  // namespace

UniqueFd pidfd_open(int pid) { return UniqueFd(check_unix(::pidfd_open(pid, 0), "pidfd_open")); }

bool pidfd_send_signal(int pidfd, int sig) {
  if (::pidfd_send_signal(pidfd, sig, nullptr, 0) == 0) return true;
  if (errno == ESRCH) return false;
  detail::throw_errno("pidfd_send_signal");
}

std::optional<int> reap_pidfd(int pidfd, bool block) {
  int code = 0;
  int r = reap_raw(pidfd, block, code);
  if (r == -1) detail::throw_errno("waitid");
  if (r == 1) return std::nullopt;
  return code;
}

std::optional<int> reap_pidfd_noexcept(int pidfd, bool block) noexcept {
  int code = 0;
  if (reap_raw(pidfd, block, code) != 0) return std::nullopt;
  return code;
}

}  // namespace mproc::sys
