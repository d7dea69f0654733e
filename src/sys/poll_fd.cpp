#include "sys/poll_fd.hpp"

#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <vector>

#include "mproc/error.hpp"

namespace mproc::sys {

bool wait_readable(std::span<const int> fds, std::span<bool> ready,
                   std::optional<std::chrono::nanoseconds> timeout) {
  using clock = std::chrono::steady_clock;
  std::vector<pollfd> pfds(fds.size());
  for (std::size_t i = 0; i < fds.size(); ++i) pfds[i] = {fds[i], POLLIN, 0};
  const auto deadline = timeout ? clock::now() + std::max(*timeout, std::chrono::nanoseconds(0))
                                : clock::time_point::max();
  for (;;) {
    timespec ts{};
    timespec* tsp = nullptr;
    if (timeout) {
      auto left = std::max(deadline - clock::now(), clock::duration::zero());
      auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(left).count();
      ts.tv_sec = static_cast<time_t>(ns / 1'000'000'000);
      ts.tv_nsec = static_cast<long>(ns % 1'000'000'000);
      tsp = &ts;
    }
    int r = ::ppoll(pfds.data(), pfds.size(), tsp, nullptr);
    if (r == -1) {
      if (errno == EINTR) continue;
      detail::throw_errno("ppoll");
    }
    for (std::size_t i = 0; i < fds.size() && i < ready.size(); ++i)
      ready[i] = pfds[i].revents != 0;
    return r > 0;
  }
}

bool wait_readable(int fd, std::optional<std::chrono::nanoseconds> timeout) {
  bool ready[1] = {false};
  return wait_readable(std::span<const int>(&fd, 1), ready, timeout);
}

}  // namespace mproc::sys
