// mproc/start_method.hpp — how new processes are started, and how many CPUs there are.
//
//   mproc::set_start_method(mproc::StartMethod::fork);   // process-wide default from now on
//   mproc::Pool pool(mproc::process_cpu_count());         // CPUs this process may really use
//   if (mproc::get_start_method() == mproc::StartMethod::fork) { /* ... */ }
//
// Threads: every function here is safe to call from any thread; a Process or Pool reads the
// default start method once, when it is constructed.
// Fork: a forked child inherits the default its parent had at fork time.
//
// Start methods (API.md): `fork` copies the calling process (fastest; the child runs the
// parent's code and data as they were). It is unsafe when other threads of the parent hold locks
// at the moment of the fork (malloc arenas of other allocators, logging, OpenMP/BLAS pools): the
// child may deadlock on a lock whose owner does not exist in it. `spawn` lifts that: the child is
// a fresh exec of this program (/proc/self/exe with the arguments init() saved), which init()
// turns into the worker; it needs init() and task functions that can cross an exec (API.md).
// `forkserver` (after init(): the server it forks while the program has one thread starts the
// children) lifts it too, with spawn's rules for tasks. Both work for Process and Pool. The
// default is fork, and forkserver once init() ran (as Python 3.14).
#pragma once

namespace mproc {

enum class StartMethod { fork, forkserver, spawn };

// A start method named at compile time, for calls that want the compiler to check what crosses:
//   mproc::Process p(mproc::use_spawn, work, 42);  // work must be a task function: checked here
template <StartMethod M>
struct StartMethodTag {
  static constexpr StartMethod value = M;
};
inline constexpr StartMethodTag<StartMethod::fork> use_fork{};
inline constexpr StartMethodTag<StartMethod::forkserver> use_forkserver{};
inline constexpr StartMethodTag<StartMethod::spawn> use_spawn{};

// Call first in main, before any thread starts: `mproc::init(argc, argv);`. In a child started
// with StartMethod::spawn, it runs that child's task and ends the process: it never returns
// there. In the program itself it saves argc/argv for spawn, forks the forkserver, makes
// forkserver the default start method, raises the soft open-file limit to the hard one (each
// Lock, Event, Queue... holds an fd), and returns. Error when called twice
// or after other threads started.
void init(int argc, char** argv);

// True once init() returned in this program.
[[nodiscard]] bool initialized() noexcept;

// Sets the process-wide default for processes and pools created from now on.
void set_start_method(StartMethod method) noexcept;

// The process-wide default: StartMethod::fork, forkserver after init(), or what
// set_start_method() chose.
[[nodiscard]] StartMethod get_start_method() noexcept;

// "fork", "forkserver" or "spawn".
[[nodiscard]] const char* to_string(StartMethod method) noexcept;

// Logical CPUs of the machine (online), at least 1.
[[nodiscard]] unsigned cpu_count() noexcept;

// CPUs this process may use: its affinity mask, further limited by a cgroup v2 `cpu.max` quota
// of its cgroup or any ancestor (ceil(quota / period)). Between 1 and cpu_count().
[[nodiscard]] unsigned process_cpu_count() noexcept;

}  // namespace mproc
