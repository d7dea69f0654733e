// mproc/soft_timeout.hpp — how a pool task learns that PoolOptions::soft_timeout has passed.
//
//   mproc::Pool pool(mproc::PoolOptions{.task_timeout = 10s, .soft_timeout = 2s});
//   pool.map([](Job j, std::stop_token st) { return solve(j, st); }, jobs);   // or:
//   pool.map([](Job j) { while (!mproc::stop_requested()) step(j); return best(j); }, jobs);
//
// Once an item has run for soft_timeout, the pool asks it to stop: its std::stop_token (taken as
// the task's last parameter; the pool passes it, the inputs do not include it) reports
// stop_requested() and runs its std::stop_callbacks (on another thread of the worker), and
// mproc::stop_requested() returns true until the item ends. A task that then returns delivers
// its value; one that throws fails with TaskTimeout{limit() == TimeoutLimit::soft}; one that
// goes on is killed at task_timeout (TaskTimeout, hard).
//
// Threads: stop_requested() may be called from any thread of the worker. Outside a pool worker
// with a soft_timeout (the parent, mproc::replay, an MPI worker) nothing is ever requested.
#pragma once

#include <stop_token>

namespace mproc {

// True once the running pool item passed its soft timeout; false outside a pool worker.
[[nodiscard]] bool stop_requested() noexcept;

// Throws the soft TaskTimeout when stop_requested(): a task's way to end at the soft limit.
void throw_if_stop_requested();

namespace detail {
// The running item's stop token (one that never stops outside a pool worker with a soft_timeout).
[[nodiscard]] std::stop_token current_stop_token() noexcept;
}  // namespace detail

}  // namespace mproc
