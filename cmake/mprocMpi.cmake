# mproc::mpi: mproc::mpi::Pool over Open MPI's C API (src/mpi), a library of its own so that
# programs without MPI do not link it. Not installed yet (the package config would need
# find_dependency(MPI)).
include_guard(GLOBAL)

if(NOT MPI_CXX_FOUND)
  message(FATAL_ERROR "MPROC_WITH_MPI: no MPI found (scripts/install-deps installs Open MPI)")
endif()

file(GLOB mproc_mpi_sources CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/src/mpi/*.cpp)
add_library(mproc_mpi ${mproc_mpi_sources})
add_library(mproc::mpi ALIAS mproc_mpi)
target_include_directories(mproc_mpi PRIVATE ${PROJECT_SOURCE_DIR}/src)
target_link_libraries(mproc_mpi PUBLIC mproc MPI::MPI_CXX)
set_target_properties(mproc_mpi PROPERTIES POSITION_INDEPENDENT_CODE ON)
mproc_target_defaults(mproc_mpi)

# What a test or benchmark run under mpirun on this machine needs: root allowed (containers),
# more ranks than cores, shared memory only, no CMA (not permitted in containers).
set(MPROC_MPIRUN_ENV
  OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
  OMPI_MCA_btl=self,vader OMPI_MCA_btl_vader_single_copy_mechanism=none)

# Gives a test (run under mpirun, or an MPI program run directly) that environment. Under ASan,
# leaks reached from Open MPI's libraries are suppressed (tests/mpi/lsan.supp): it leaves many
# at MPI_Finalize. Their stacks need the slow unwinder (Open MPI has no frame pointers).
function(mproc_mpi_test_env name)
  set_tests_properties(${name} PROPERTIES ENVIRONMENT "${MPROC_MPIRUN_ENV}")
  if(MPROC_SANITIZE MATCHES "address")
    set_tests_properties(${name} PROPERTIES ENVIRONMENT_MODIFICATION
      "ASAN_OPTIONS=string_append::fast_unwind_on_malloc=0;LSAN_OPTIONS=set:suppressions=${PROJECT_SOURCE_DIR}/tests/mpi/lsan.supp")
  endif()
endfunction()
