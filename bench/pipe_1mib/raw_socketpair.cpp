// Anchor: the floor for pipe_1mib — a raw AF_UNIX socketpair, a 4-byte request and a 1 MiB reply
// (write/read loops, no framing, no codec) with a forked server child.
#include <benchmark/benchmark.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <vector>

namespace {

constexpr std::size_t kBytes = std::size_t{1} << 20;

bool full_io(bool write_side, int fd, std::byte* p, std::size_t n) {
  while (n > 0) {
    ssize_t r = write_side ? ::write(fd, p, n) : ::read(fd, p, n);
    if (r <= 0) return false;
    p += r;
    n -= static_cast<std::size_t>(r);
  }
  return true;
}

void BM_raw_socketpair_1mib(benchmark::State& state) {
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
    state.SkipWithError("socketpair failed");
    return;
  }
  pid_t pid = ::fork();
  if (pid == 0) {
    ::close(sv[0]);
    std::vector<std::byte> payload(kBytes, std::byte{7});
    int req;
    while (full_io(false, sv[1], reinterpret_cast<std::byte*>(&req), sizeof req) &&
           full_io(true, sv[1], payload.data(), kBytes)) {
    }
    ::_exit(0);
  }
  ::close(sv[1]);
  std::vector<std::byte> in(kBytes);
  int req = 1;
  for (auto _ : state) {
    if (!full_io(true, sv[0], reinterpret_cast<std::byte*>(&req), sizeof req) ||
        !full_io(false, sv[0], in.data(), kBytes)) {
      state.SkipWithError("short io");
      break;
    }
    benchmark::DoNotOptimize(in.data());
  }
  ::close(sv[0]);  // the child sees EOF and exits
  ::waitpid(pid, nullptr, 0);
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(kBytes));
}
BENCHMARK(BM_raw_socketpair_1mib)->Name("pipe_1mib/raw_socketpair")->UseRealTime();

}  // namespace
