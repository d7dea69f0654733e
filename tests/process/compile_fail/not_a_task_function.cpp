// Compiled by tests/codec/compile_fail/check_compile.cmake with one -DMPROC_CASE_<name>: what a
// Process naming its start method at compile time, or a Pool call, refuses to compile. The
// control cases must compile, so the failures are not for another reason.
#include <string>

#include "mproc/mpi/pool.hpp"
#include "mproc/pool.hpp"
#include "mproc/process.hpp"

void takes_int(int) {}

int main() {
  std::string s = "x";
  const int k = 3;
#if defined(MPROC_CASE_process_spawn_captures_string)
  mproc::Process p(mproc::use_spawn, [s] { (void)s.size(); });
#elif defined(MPROC_CASE_process_forkserver_pointer_argument)
  mproc::Process p(mproc::use_forkserver, mproc::ProcessOptions{.name = "x"},
                   [](const char* c) { (void)c; }, "a literal");
#elif defined(MPROC_CASE_process_fork_captures_string)  // control: fork takes any callable
  mproc::Process p(mproc::use_fork, [s] { (void)s.size(); });
#elif defined(MPROC_CASE_process_spawn_value_capture)  // control: a trivially copyable closure
  mproc::Process p(mproc::use_spawn, [k](int x) { takes_int(x * k); }, 2);
#elif defined(MPROC_CASE_pool_captures_string)
  mproc::Pool pool(1);
  (void)pool.map([s](int x) { return x + static_cast<int>(s.size()); }, std::vector<int>{1});
#elif defined(MPROC_CASE_pool_value_capture)  // control
  mproc::Pool pool(1);
  (void)pool.map([k](int x) { return x * k; }, std::vector<int>{1});
#elif defined(MPROC_CASE_mpi_pool_closure)  // closures do not travel between ranks yet
  int argc = 0;
  char** argv = nullptr;
  mproc::mpi::Pool pool(argc, argv);
  (void)pool.map([k](int x) { return x * k; }, std::vector<int>{1});
#elif defined(MPROC_CASE_mpi_pool_function)  // control
  int argc = 0;
  char** argv = nullptr;
  mproc::mpi::Pool pool(argc, argv);
  (void)pool.map([](int x) { return x * 2; }, std::vector<int>{1});
#endif
}
