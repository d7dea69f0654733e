// The loop ranks 1..N-1 run: receive a chunk, run its items in a local mproc::Pool (so a crash
// costs one item, not the rank), send the results back, until rank 0 says stop.
#pragma once

#include "mpi/comm.hpp"
#include "mproc/detail/mpi_core.hpp"

namespace mproc::mpi_comm {

// Returns when rank 0 sent kTagStop. Throws on an MPI or local pool failure.
void run_worker_rank(const mpi::PoolOptions& options);

}  // namespace mproc::mpi_comm
