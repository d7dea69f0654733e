// Anchor: the floor for a kernel-buffered round trip — a raw AF_UNIX socketpair, 4-byte write and
// read each way, with a forked echo child. No framing, no codec.
#include <benchmark/benchmark.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <stdexcept>

namespace {

void full_io(bool write_side, int fd, int* v) {
  ssize_t n = write_side ? ::write(fd, v, sizeof *v) : ::read(fd, v, sizeof *v);
  if (n != static_cast<ssize_t>(sizeof *v)) throw std::runtime_error("raw socketpair: short io");
}

void BM_raw_socketpair(benchmark::State& state) {
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
    state.SkipWithError("socketpair failed");
    return;
  }
  pid_t pid = ::fork();
  if (pid == 0) {
    ::close(sv[0]);
    int v;
    while (::read(sv[1], &v, sizeof v) == sizeof v) {
      ++v;
      if (::write(sv[1], &v, sizeof v) != sizeof v) break;
    }
    ::_exit(0);
  }
  ::close(sv[1]);
  int v = 0;
  for (auto _ : state) {
    full_io(true, sv[0], &v);
    full_io(false, sv[0], &v);
  }
  ::close(sv[0]);  // the child sees EOF and exits
  ::waitpid(pid, nullptr, 0);
  benchmark::DoNotOptimize(v);
}
BENCHMARK(BM_raw_socketpair)->Name("pipe_pingpong/raw_socketpair")->UseRealTime();

}  // namespace
