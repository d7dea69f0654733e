// Rank 0's MpiCore: a thread that makes every MPI call (sends chunks to the worker ranks, a few
// per rank in flight, receives their results) and the bookkeeping the pool's calls wait on.
#pragma once

#include <memory>

#include "mpi/comm.hpp"
#include "mproc/detail/mpi_core.hpp"

namespace mproc::mpi_comm {

// Takes over `env` (finalized by join()).
std::shared_ptr<detail::MpiCore> make_driver(std::unique_ptr<Environment> env,
                                             const mpi::PoolOptions& options);

}  // namespace mproc::mpi_comm
