// A task that kills its worker rank itself (SIGKILL to the local worker's parent): MPI, not
// mproc, decides what follows. Open MPI's mpirun ends the whole job and reports the rank that
// died; rank 0 never returns from get() (run by CTest, which expects mpirun's report).
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <mproc/mpi/pool.hpp>

namespace {

int kill_my_rank(int) {
  ::kill(::getppid(), SIGKILL);
  ::pause();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  mproc::mpi::Pool pool(argc, argv);
  (void)pool.apply(kill_my_rank, 0);
  std::puts("rank 0 got a result from a killed rank: unexpected");
  return 0;
}
