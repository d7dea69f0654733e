// The type-erased engine behind mproc::mpi::Pool (mpi/pool.hpp), on rank 0: it splits the
// submitted items into chunks, sends each chunk with its batch's binding message (pool_batch.hpp:
// the call named as {module, offset}) to a worker rank, and hands the results to the batch. One
// thread of this object makes every MPI call on rank 0 (src/mpi/driver.cpp).
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>

#include "mproc/detail/pool_core.hpp"

namespace mproc::mpi {

struct PoolOptions {
  // The local mproc::Pool each worker rank runs its tasks in (fork start method): its size, and
  // the per-task limits it enforces. Every rank must pass the same options.
  unsigned processes_per_rank = 1;
  std::chrono::milliseconds task_timeout{0};  // 0: none
  unsigned retries = 0;                       // re-runs of a crashed or timed-out item
  std::size_t max_tasks_per_child = 0;        // 0: never replace for age
  std::size_t memory_limit_bytes = 0;         // per local worker; 0: none
  // Chunks a worker rank holds at once (the one it runs and the next ones): hides the MPI
  // round trip.
  unsigned chunks_in_flight = 2;
};

}  // namespace mproc::mpi

namespace mproc::detail {

class MpiCore : public CallCore {
 public:
  [[nodiscard]] virtual unsigned worker_ranks() const noexcept = 0;
  [[nodiscard]] virtual unsigned processes() const noexcept = 0;
  // submit: as PoolCore::submit. Throws PoolClosed after close()/terminate(), or Error when the
  // batch's function cannot be named on the other ranks. wait: on_progress is not called.
  virtual void close() = 0;
  virtual void join() = 0;       // after close(): waits for the work, stops the worker ranks
  virtual void terminate() = 0;  // drops undispatched work (Cancelled), stops the worker ranks
};

// MPI_Init; on rank 0 returns the driver's core, on every other rank runs the worker loop and
// ends the process (std::exit) once rank 0 stops it. Throws Error if called twice in a program.
std::shared_ptr<MpiCore> start_mpi_pool(int& argc, char**& argv, const mpi::PoolOptions& options);

}  // namespace mproc::detail
