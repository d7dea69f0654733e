#include "sys/fork.hpp"

#include <fcntl.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

#include "sys/check.hpp"

namespace mproc::sys {

SignalMask block_all_signals() {
  sigset_t all;
  ::sigfillset(&all);
  SignalMask old;
  if (int err = ::pthread_sigmask(SIG_SETMASK, &all, &old.set); err != 0) {
    detail::throw_errno("pthread_sigmask", err);
  }
  return old;
}

void restore_signal_mask(const SignalMask& mask) noexcept {
  ::pthread_sigmask(SIG_SETMASK, &mask.set, nullptr);
}

std::uint64_t blocked_signals() {
  sigset_t now;
  if (int err = ::pthread_sigmask(SIG_SETMASK, nullptr, &now); err != 0) {
    detail::throw_errno("pthread_sigmask", err);
  }
  std::uint64_t bits = 0;
  for (int sig = 1; sig <= 64; ++sig) {
    if (::sigismember(&now, sig) == 1) bits |= std::uint64_t{1} << (sig - 1);
  }
  return bits;
}

void set_blocked_signals(std::uint64_t bits) {
  sigset_t set;
  ::sigemptyset(&set);
  for (int sig = 1; sig <= 64; ++sig) {
    if ((bits >> (sig - 1)) & 1) (void)::sigaddset(&set, sig);  // EINVAL for 32, 33: glibc's own
  }
  if (int err = ::pthread_sigmask(SIG_SETMASK, &set, nullptr); err != 0) {
    detail::throw_errno("pthread_sigmask", err);
  }
}

int fork_process() { return check_unix(::fork(), "fork"); }

int current_pid() noexcept { return ::getpid(); }

void kill_and_reap(int pid) noexcept {
  ::kill(pid, SIGKILL);
  while (::waitpid(pid, nullptr, 0) == -1 && errno == EINTR) {
  }
}

PipeEnds make_cloexec_pipe() {
  int fds[2];
  check_unix(::pipe2(fds, O_CLOEXEC), "pipe2");
  return {UniqueFd(fds[0]), UniqueFd(fds[1])};
}

std::size_t read_full(int fd, void* buf, std::size_t size) {
  auto* p = static_cast<char*>(buf);
  std::size_t got = 0;
  while (got < size) {
    ssize_t n = call_unix("read", [&] { return ::read(fd, p + got, size - got); });
    if (n == 0) break;
    got += static_cast<std::size_t>(n);
  }
  return got;
}

namespace child {

int reset_signal_dispositions() noexcept {
  for (int sig = 1; sig < NSIG; ++sig) {
    if (sig == SIGKILL || sig == SIGSTOP) continue;
    struct sigaction old {};
    if (::sigaction(sig, nullptr, &old) != 0) continue;  // reserved by libc (EINVAL)
    if (old.sa_handler == SIG_DFL && !(old.sa_flags & SA_SIGINFO)) continue;
    if (sig == SIGPIPE && old.sa_handler == SIG_IGN && !(old.sa_flags & SA_SIGINFO)) continue;
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    ::sigemptyset(&dfl.sa_mask);
    if (::sigaction(sig, &dfl, nullptr) != 0) return errno;
  }
  return 0;
}

int ignore_signal(int sig) noexcept {
  struct sigaction sa {};
  sa.sa_handler = SIG_IGN;
  sigemptyset(&sa.sa_mask);
  return ::sigaction(sig, &sa, nullptr) == 0 ? 0 : errno;
}

int set_parent_death_signal(int sig) noexcept {
  return ::prctl(PR_SET_PDEATHSIG, static_cast<unsigned long>(sig)) == 0 ? 0 : errno;
}

int die_with_parent(int parent) noexcept {
  if (int err = set_parent_death_signal(SIGKILL)) return err;
  if (parent_pid() != parent) die_by_signal(SIGKILL);
  return 0;
}

int parent_pid() noexcept { return ::getppid(); }

int set_signal_mask(const SignalMask& mask) noexcept {
  return ::pthread_sigmask(SIG_SETMASK, &mask.set, nullptr);
}

bool write_all(int fd, const void* buf, std::size_t size) noexcept {
  const auto* p = static_cast<const char*>(buf);
  while (size > 0) {
    ssize_t n = ::write(fd, p, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    p += n;
    size -= static_cast<std::size_t>(n);
  }
  return true;
}

void close_fd(int fd) noexcept { ::close(fd); }

void unmap(void* addr, std::size_t size) noexcept { ::munmap(addr, size); }

void die_by_signal(int sig) noexcept {
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  ::sigaction(sig, &dfl, nullptr);
  sigset_t one;
  ::sigemptyset(&one);
  ::sigaddset(&one, sig);
  ::pthread_sigmask(SIG_UNBLOCK, &one, nullptr);
  ::raise(sig);
  ::_exit(128 + sig);
}

void flush_stdio() noexcept { std::fflush(nullptr); }

void exit_now(int code) noexcept { ::_exit(code); }

}  // namespace child
}  // namespace mproc::sys
