// mproc/sandbox.hpp — PoolOptions::sandbox: workers that parse untrusted input with as little
// reach as a process can have.
//
//   mproc::Pool pool(mproc::PoolOptions{.processes = 4,
//                                       .start_method = mproc::StartMethod::spawn,
//                                       .sandbox = mproc::Sandbox{.cpu_time = std::chrono::seconds(60)}});
//   auto docs = pool.try_map(parse_document, untrusted_blobs);
//
// After its initializer ran (so it may open what it needs: a model, a dictionary), each worker
// sets PR_SET_NO_NEW_PRIVS and installs a seccomp allow-list: computing (memory, threads, futexes,
// time, randomness, signals to itself) and talking to the parent over what it already holds.
// Everything else is refused: opening or creating files (open, openat, creat, ...: /etc/passwd
// is out of reach), sockets (socket, connect, bind, ...), exec, fork (threads are allowed),
// ptrace, kill of another process, mount/namespaces, bpf, ioctl other than "is this a terminal".
// A refused call fails with EPERM (on_violation = error: the task sees an error it can report)
// or kills the worker (on_violation = kill: WorkerCrashed with SIGSYS for that item). Resource
// limits: CPU seconds (RLIMIT_CPU: SIGXCPU, then SIGKILL a second later), address space
// (RLIMIT_AS; memory_limit_bytes also applies), file size (RLIMIT_FSIZE).
//
// What it does not protect against: a worker still reads and writes the fds it inherited — under
// fork, all of the parent's (use spawn or forkserver: their workers hold only 0, 1, 2 and their
// channel); it can corrupt its own channel (the parent checks every record: a garbage result
// fails that worker, nothing else); a kernel bug reachable through an allowed call; side
// channels. Linux only, x86-64 and arm64; a build without libseccomp throws mproc::Error when a
// sandbox is asked for.
#pragma once

#include <chrono>
#include <cstddef>

namespace mproc {

struct Sandbox {
  enum class OnViolation { error, kill };
  OnViolation on_violation = OnViolation::error;  // a refused call: EPERM, or SIGSYS kills
  std::chrono::seconds cpu_time{0};               // RLIMIT_CPU of each worker's life (0: none)
  std::size_t address_space_bytes = 0;            // RLIMIT_AS (0: none)
  std::size_t file_size_bytes = 0;                // RLIMIT_FSIZE (0: none)
};

}  // namespace mproc
