// The pool worker's side of mproc::worker_state() and mproc::worker_id() (mproc/worker_state.hpp):
// what the calling process knows about being a pool worker. Process-wide, not per thread: every
// thread of a worker sees it. Set by the worker loop only (pool/worker.cpp), on its main thread,
// before any task runs and after the last.
#pragma once

#include <memory>

#include "mproc/detail/remote_call.hpp"

namespace mproc::pool {

// This process is now pool worker `id`. What a forked worker inherited from a worker it was
// forked in (a pool inside a task) is dropped unrun: it belongs to that other worker.
void enter_worker(int id, bool has_state) noexcept;

// The state the factory built (worker_state<T>() returns it from now on).
void install_worker_state(std::unique_ptr<detail::KeptValue> state) noexcept;

// The worker exits normally: runs the state's destructor (an exception from it is dropped).
void leave_worker() noexcept;

}  // namespace mproc::pool
