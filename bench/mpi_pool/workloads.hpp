// The two workloads mproc::mpi::Pool is measured on, beside mproc::Pool(2) in the same run:
// mpi_map_tiny (pool_map_tiny's 100k int -> int tasks) and mpi_cpu_bound (pool_cpu_bound's 8
// items of ~50 ms). bench/run starts this binary under `mpirun -np 3` (file `launcher`): one
// driver and two worker ranks, as many task processes as Pool(2).
#pragma once

#include <mproc/mpi/pool.hpp>

namespace bench {

constexpr int kTinyItems = 100'000;
inline int tiny(int x) { return x * 2 + 1; }

// The job's pool, made in main before any benchmark runs (mpi_main.cpp).
mproc::mpi::Pool& mpi_pool();

}  // namespace bench
