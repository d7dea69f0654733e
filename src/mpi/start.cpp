// mproc::mpi::Pool's constructor: MPI_Init, then rank 0 drives and every other rank serves.
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <memory>
#include <string>

#include "mpi/comm.hpp"
#include "mpi/driver.hpp"
#include "mpi/worker_rank.hpp"
#include "mproc/detail/mpi_core.hpp"
#include "mproc/error.hpp"

namespace mproc::detail {

std::shared_ptr<MpiCore> start_mpi_pool(int& argc, char**& argv, const mpi::PoolOptions& options) {
  static std::atomic<bool> started{false};
  if (started.exchange(true)) {
    throw Error("mproc::mpi::Pool: one per program (MPI cannot be initialised a second time)");
  }
  auto env = std::make_unique<mpi_comm::Environment>(argc, argv);
  if (env->size() < 2) {
    throw Error("mproc::mpi::Pool: the job has no worker rank; run it as `mpirun -np N " +
                std::string(argc > 0 ? argv[0] : "./app") + "` with N >= 2");
  }
  if (env->rank() == 0) return mpi_comm::make_driver(std::move(env), options);
  // A worker rank never returns to main's driver code.
  try {
    mpi_comm::run_worker_rank(options);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "mproc::mpi: worker rank %d: %s\n", env->rank(), e.what());
    std::fflush(stderr);
    std::abort();  // mpirun then ends the job, rank 0 included
  }
  env->finalize();
  std::exit(0);
}

}  // namespace mproc::detail
