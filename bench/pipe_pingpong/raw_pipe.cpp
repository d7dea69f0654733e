// Anchor: the raw pipe ping-pong — two pipe(2)s, a 4-byte write and read each way, with a forked
// echo child. No framing, no codec.
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <stdexcept>

namespace {

void BM_raw_pipe(benchmark::State& state) {
  int to_child[2];
  int to_parent[2];
  if (::pipe2(to_child, O_CLOEXEC) != 0 || ::pipe2(to_parent, O_CLOEXEC) != 0) {
    state.SkipWithError("pipe2 failed");
    return;
  }
  pid_t pid = ::fork();
  if (pid == 0) {
    ::close(to_child[1]);
    ::close(to_parent[0]);
    int v;
    while (::read(to_child[0], &v, sizeof v) == sizeof v) {
      ++v;
      if (::write(to_parent[1], &v, sizeof v) != sizeof v) break;
    }
    ::_exit(0);
  }
  ::close(to_child[0]);
  ::close(to_parent[1]);
  int v = 0;
  for (auto _ : state) {
    if (::write(to_child[1], &v, sizeof v) != sizeof v ||
        ::read(to_parent[0], &v, sizeof v) != sizeof v)
      throw std::runtime_error("raw pipe: short io");
  }
  ::close(to_child[1]);  // the child sees EOF and exits
  ::close(to_parent[0]);
  ::waitpid(pid, nullptr, 0);
  benchmark::DoNotOptimize(v);
}
BENCHMARK(BM_raw_pipe)->Name("pipe_pingpong/raw_pipe")->UseRealTime();

}  // namespace
