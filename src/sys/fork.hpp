// fork and what surrounds it: the signal mask, pipes for the start-up report, and the no-throw,
// async-signal-safe calls a freshly forked child may make before it runs user code.
#pragma once

#include <signal.h>

#include <cstddef>
#include <cstdint>

#include "sys/unique_fd.hpp"

namespace mproc::sys {

// A thread's signal mask, saved so it can be put back.
struct SignalMask {
  sigset_t set{};
};

// Blocks every signal in the calling thread; returns the mask it had.
// Throws SystemError("pthread_sigmask").
[[nodiscard]] SignalMask block_all_signals();

// Puts a saved mask back. Cannot fail for a mask that came from block_all_signals().
void restore_signal_mask(const SignalMask& mask) noexcept;

// The calling thread's blocked signals as bits (bit N-1 for signal N, signals 1 to 64): how the
// mask travels to a child that does not inherit it. Throws SystemError("pthread_sigmask").
[[nodiscard]] std::uint64_t blocked_signals();
// Makes exactly the signals in `bits` (as above) the calling thread's blocked ones.
// Throws SystemError("pthread_sigmask").
void set_blocked_signals(std::uint64_t bits);

// fork(); returns 0 in the child and the child's pid in the parent. Throws SystemError("fork").
[[nodiscard]] int fork_process();

[[nodiscard]] int current_pid() noexcept;

// For clean-up paths: SIGKILL the child `pid` and reap it. Never throws.
void kill_and_reap(int pid) noexcept;

struct PipeEnds {
  UniqueFd read;
  UniqueFd write;
};
// pipe2(O_CLOEXEC). Throws SystemError("pipe2").
[[nodiscard]] PipeEnds make_cloexec_pipe();

// Reads until `size` bytes arrived or end of file; returns how many arrived. EINTR retried.
// Throws SystemError("read").
std::size_t read_full(int fd, void* buf, std::size_t size);

// For the child between fork and user code: async-signal-safe, never throw, report errno.
namespace child {

// Every signal handler and SIG_IGN back to SIG_DFL, except an ignored SIGPIPE, which stays
// ignored (code that ignores it expects EPIPE from writes, and the child runs that code).
// Returns 0 or an errno value.
int reset_signal_dispositions() noexcept;

// sig → SIG_IGN. Returns 0 or an errno value.
int ignore_signal(int sig) noexcept;

// prctl(PR_SET_PDEATHSIG, sig). Returns 0 or an errno value.
int set_parent_death_signal(int sig) noexcept;

[[nodiscard]] int parent_pid() noexcept;

// Ties the calling process's life to `parent`'s: PR_SET_PDEATHSIG(SIGKILL), then, since the
// parent may have died before that took effect (nobody would kill us then), dies by SIGKILL at
// once unless `parent` is still the parent. Returns 0 or the prctl errno value.
int die_with_parent(int parent) noexcept;

// pthread_sigmask(SIG_SETMASK). Returns 0 or an errno value.
int set_signal_mask(const SignalMask& mask) noexcept;

// Writes all of buf (EINTR and short writes handled). Returns false on failure.
bool write_all(int fd, const void* buf, std::size_t size) noexcept;

void close_fd(int fd) noexcept;

// munmap(addr, size); failures ignored (the mapping stays: harmless).
void unmap(void* addr, std::size_t size) noexcept;

// Ends the calling process with `sig` (default action); _exit(128 + sig) if that fails.
[[noreturn]] void die_by_signal(int sig) noexcept;

// Flushes C stdio buffers (fflush(nullptr)); not async-signal-safe, for the end of the child.
void flush_stdio() noexcept;

[[noreturn]] void exit_now(int code) noexcept;

}  // namespace child
}  // namespace mproc::sys
