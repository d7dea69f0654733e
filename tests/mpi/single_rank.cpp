// Run without mpirun (MPI's singleton mode: one rank, no worker): the constructor throws Error
// instead of waiting forever for workers. Exit status 0 only if it did.
#include <cstdio>
#include <cstring>
#include <mproc/mpi/pool.hpp>

int main(int argc, char** argv) {
  try {
    mproc::mpi::Pool pool(argc, argv);
  } catch (const mproc::Error& e) {
    std::printf("as expected: %s\n", e.what());
    return std::strstr(e.what(), "no worker rank") != nullptr ? 0 : 1;
  }
  std::puts("a pool without worker ranks was constructed");
  return 1;
}
