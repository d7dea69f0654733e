// Anchors: the floors for starting a process on this machine, no library in between:
//   raw_fork:        fork(), the child _exit(0)s at once, waitpid();
//   raw_posix_spawn: posix_spawn of /bin/true (exec of a small dynamically linked binary),
//                    waitpid().
#include <benchmark/benchmark.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace {

void BM_raw_fork(benchmark::State& state) {
  for (auto _ : state) {
    pid_t pid = ::fork();
    if (pid == 0) ::_exit(0);
    int status = 0;
    if (pid < 0 || ::waitpid(pid, &status, 0) != pid || status != 0) {
      state.SkipWithError("fork/waitpid failed");
      break;
    }
  }
}
BENCHMARK(BM_raw_fork)
    ->Name("process_startup_fork/raw_fork")
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

void BM_raw_posix_spawn(benchmark::State& state) {
  char arg0[] = "true";
  char* argv[] = {arg0, nullptr};
  for (auto _ : state) {
    pid_t pid = 0;
    int status = 0;
    if (::posix_spawn(&pid, "/bin/true", nullptr, nullptr, argv, environ) != 0 ||
        ::waitpid(pid, &status, 0) != pid || status != 0) {
      state.SkipWithError("posix_spawn/waitpid failed");
      break;
    }
  }
}
BENCHMARK(BM_raw_posix_spawn)
    ->Name("process_startup_spawn/raw_posix_spawn")
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace
