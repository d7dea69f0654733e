// launch: the forkserver start method. init() forks a server while the program is still
// single-threaded; later, Process::start asks it for a child, which it forks from its own clean,
// single-threaded state, however many threads the program runs by then.
//
// Reached only through the socketpair made at init (no filesystem or abstract socket that
// another process could connect to). A request is the spawn start message (role, payload, fds).
// The server forks; the child resets its signals, arms PR_SET_PDEATHSIG(SIGKILL) on the server
// and runs the role. The server answers with the child's pid and a pidfd (SCM_RIGHTS), so the
// program can poll and signal it without pid races. The child is the server's child (the server
// reaps it and sends its exit status); the program collects statuses with forkserver_reap.
// Not CLONE_PARENT (DESIGN.md's first idea): only a raw clone(2) can pass it, and glibc's fork
// is what re-registers the child's robust-mutex list and its thread id in the TCB; without that
// a child dying with a robust lock held would not hand the next locker OwnerDied.
// Death: the server arms PR_SET_PDEATHSIG(SIGKILL) on the program's main thread and exits at end
// of file, and its children die with it: nothing outlives the program. It ignores SIGINT and
// SIGTERM (they are for the program). Killed anyway (SIGKILL), it takes its running children with
// it — they are reported as killed by SIGKILL — and the next start restarts it, by spawn (a fresh
// exec of this program, which may run threads by now), as Python restarts its forkserver.
#pragma once

#include <cstddef>
#include <optional>
#include <span>

#include "launch/fork.hpp"
#include "launch/spawn.hpp"

namespace mproc::launch {

// What a forkserver child runs: its role, from the start message. Never returns.
using RoleRunner = void (*)(StartMessage& message) noexcept;

// Forks the server. Throws SystemError; Error when it runs already.
void start_forkserver(RoleRunner runner);

// The server's pid, or 0 when none runs (for tests that account for their children).
[[nodiscard]] int forkserver_pid() noexcept;

// The restarted server's role (Role::forkserver, one fd: its end of the socket): serves until end
// of file. Never returns.
[[noreturn]] void run_forkserver(StartMessage& message, RoleRunner runner) noexcept;

// A child of the server running (role, payload) with fds. Child::pidfd is a pidfd for it; its
// exit status comes from forkserver_reap. Error when no server runs or it died, or when called
// from another process than the one that started it (a forked copy).
[[nodiscard]] Child forkserver_child(Role role, std::span<const std::byte> payload,
                                     std::span<const int> fds = {});

// The exit code of a forkserver child (-N after signal N), once the server reported it; with
// block, waits for the report (call it after the pidfd became readable: then it is imminent).
[[nodiscard]] std::optional<int> forkserver_reap(int pid, bool block);

// The exit code of any launcher's child once it has exited (-N after signal N): a forkserver
// child's (from_forkserver) from the server's report, any other's by waitid on its pidfd. block: wait for
// it (call it after the pidfd became readable: then it is imminent). Throws SystemError/Error.
[[nodiscard]] std::optional<int> reap_child(int pid, int pidfd, bool from_forkserver,
                                              bool block);
// The same, blocking, for clean-up paths: nullopt on any failure.
std::optional<int> reap_child_noexcept(int pid, int pidfd, bool from_forkserver) noexcept;

}  // namespace mproc::launch
