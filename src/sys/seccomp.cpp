#include "sys/seccomp.hpp"

#include <fcntl.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <string>

#include "mproc/error.hpp"

#if defined(MPROC_HAVE_SECCOMP)
#include <seccomp.h>
#endif

namespace mproc::sys {

#if defined(MPROC_HAVE_SECCOMP)
namespace {

// Computing and talking over fds already held: allowed whatever the arguments.
constexpr const char* kAllowed[] = {
    // fds the worker holds
    "read", "write", "readv", "writev", "pread64", "pwrite64", "preadv", "pwritev", "lseek",
    "close", "fstat", "dup", "dup2", "dup3", "fcntl", "ftruncate", "poll", "ppoll", "select",
    "pselect6", "epoll_wait", "epoll_pwait", "epoll_ctl", "eventfd2", "pipe", "pipe2",
    "memfd_create",
    // memory
    "mmap", "munmap", "mprotect", "mremap", "madvise", "brk", "msync", "mincore", "membarrier",
    // threads and futexes
    "futex", "futex_waitv", "set_robust_list", "get_robust_list", "rseq", "set_tid_address",
    "sched_yield", "sched_getaffinity", "sched_getparam", "sched_getscheduler", "getpriority",
    "getcpu", "arch_prctl",
    // time, randomness, identity
    "nanosleep", "clock_nanosleep", "clock_gettime", "clock_getres", "gettimeofday", "time",
    "getrandom", "getpid", "gettid", "getppid", "getuid", "geteuid", "getgid", "getegid",
    "getresuid", "getresgid", "getgroups", "getpgrp", "getpgid", "getsid", "getrusage", "times",
    "sysinfo", "uname", "getcwd", "getrlimit",
    // signals to itself, and ending
    "rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "rt_sigpending", "rt_sigtimedwait",
    "rt_sigsuspend", "sigaltstack", "pause", "exit", "exit_group", "restart_syscall",
};

[[noreturn]] void fail(const char* call, int rc) { detail::throw_errno(call, -rc); }

int resolve(const char* name) { return seccomp_syscall_resolve_name(name); }

// `action` for the system call `name`, when each comparison holds. A name this architecture does
// not have (e.g. arm64's pipe) is skipped.
template <class... Cmp>
void add_rule(scmp_filter_ctx ctx, std::uint32_t action, const char* name, Cmp... cmps) {
  const int nr = resolve(name);
  if (nr == __NR_SCMP_ERROR) return;
  if (const int rc = seccomp_rule_add(ctx, action, nr, sizeof...(Cmp), cmps...); rc < 0) {
    fail("seccomp_rule_add", rc);
  }
}

void allow(scmp_filter_ctx ctx, const char* name) { add_rule(ctx, SCMP_ACT_ALLOW, name); }

// Argument `index` compared as `op` with a (and b: for SCMP_CMP_MASKED_EQ, a is the mask and b
// the value). libseccomp's SCMP_A<n> macros leave datum_b out, which clang's
// -Wmissing-field-initializers refuses.
scmp_arg_cmp arg(unsigned index, scmp_compare op, scmp_datum_t a, scmp_datum_t b = 0) {
  return scmp_arg_cmp{index, op, a, b};
}

// Allowed when the argument compares as given.
void allow_if(scmp_filter_ctx ctx, const char* name, scmp_arg_cmp cmp) {
  add_rule(ctx, SCMP_ACT_ALLOW, name, cmp);
}

void set_limit(int resource, std::uint64_t value, const char* what) {
  if (value == 0) return;
  rlimit lim{};
  if (::getrlimit(resource, &lim) != 0) detail::throw_errno(std::string("getrlimit(") + what + ")", errno);
  rlim_t soft = static_cast<rlim_t>(value);
  if (lim.rlim_max != RLIM_INFINITY && soft > lim.rlim_max) soft = lim.rlim_max;
  lim.rlim_cur = soft;
  // CPU: SIGXCPU at the soft limit, SIGKILL at the hard one, a second later.
  if (resource == RLIMIT_CPU && (lim.rlim_max == RLIM_INFINITY || lim.rlim_max > soft + 1)) {
    lim.rlim_max = soft + 1;
  }
  if (::setrlimit(resource, &lim) != 0) detail::throw_errno(std::string("setrlimit(") + what + ")", errno);
}

struct Filter {
  explicit Filter(std::uint32_t action) : ctx(seccomp_init(action)) {
    if (ctx == nullptr) detail::throw_errno("seccomp_init", ENOMEM);
  }
  ~Filter() { seccomp_release(ctx); }
  Filter(const Filter&) = delete;
  Filter& operator=(const Filter&) = delete;
  scmp_filter_ctx ctx;
};

}  // namespace

bool sandbox_available() noexcept { return true; }

void enter_sandbox(const SandboxPolicy& policy) {
  set_limit(RLIMIT_CPU, policy.cpu_seconds, "RLIMIT_CPU");
  set_limit(RLIMIT_AS, policy.address_space_bytes, "RLIMIT_AS");
  set_limit(RLIMIT_FSIZE, policy.file_size_bytes, "RLIMIT_FSIZE");
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
    detail::throw_errno("prctl(PR_SET_NO_NEW_PRIVS)", errno);
  }
  Filter f(policy.kill_on_violation ? SCMP_ACT_KILL_PROCESS : SCMP_ACT_ERRNO(EPERM));
  if (const int rc = seccomp_attr_set(f.ctx, SCMP_FLTATR_CTL_TSYNC, 1); rc < 0) {
    fail("seccomp_attr_set(TSYNC)", rc);
  }
  for (const char* name : kAllowed) allow(f.ctx, name);
  const auto self = static_cast<scmp_datum_t>(::getpid());
  // Threads, not processes: clone with CLONE_THREAD; clone3's flags are out of a filter's
  // sight, so it is ENOSYS and glibc falls back to clone.
  allow_if(f.ctx, "clone", arg(0, SCMP_CMP_MASKED_EQ, CLONE_THREAD, CLONE_THREAD));
  add_rule(f.ctx, SCMP_ACT_ERRNO(ENOSYS), "clone3");
  // Signals to itself only (raise, abort, the crash handler's re-raise).
  allow_if(f.ctx, "tgkill", arg(0, SCMP_CMP_EQ, self));
  allow_if(f.ctx, "kill", arg(0, SCMP_CMP_EQ, self));
  allow_if(f.ctx, "rt_tgsigqueueinfo", arg(0, SCMP_CMP_EQ, self));
  // fstat through its modern forms (an fd, no path), isatty, reading limits, naming threads.
  allow_if(f.ctx, "newfstatat", arg(3, SCMP_CMP_MASKED_EQ, AT_EMPTY_PATH, AT_EMPTY_PATH));
  allow_if(f.ctx, "statx", arg(2, SCMP_CMP_MASKED_EQ, AT_EMPTY_PATH, AT_EMPTY_PATH));
  allow_if(f.ctx, "ioctl", arg(1, SCMP_CMP_EQ, TCGETS));
  allow_if(f.ctx, "prlimit64", arg(2, SCMP_CMP_EQ, 0));
  allow_if(f.ctx, "prctl", arg(0, SCMP_CMP_EQ, PR_SET_NAME));
  allow_if(f.ctx, "prctl", arg(0, SCMP_CMP_EQ, PR_GET_NAME));
  if (const int rc = seccomp_load(f.ctx); rc < 0) fail("seccomp_load", rc);
}

#else

bool sandbox_available() noexcept { return false; }

void enter_sandbox(const SandboxPolicy&) {
  throw Error("mproc was built without libseccomp (Debian: libseccomp-dev): no sandbox");
}

#endif

}  // namespace mproc::sys
