#include "sys/poll.hpp"

#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <ctime>
#include <vector>

#include "sys/check.hpp"

namespace mproc::sys {

std::size_t wait_readable(std::span<const int> fds, std::span<bool> ready,
                          std::optional<std::chrono::nanoseconds> timeout) {
  using Clock = std::chrono::steady_clock;
  constexpr short kReady = POLLIN | POLLRDHUP | POLLHUP | POLLERR | POLLNVAL;
  pollfd small[8];
  std::vector<pollfd> large;
  pollfd* pfds = small;
  if (fds.size() > std::size(small)) {
    large.resize(fds.size());
    pfds = large.data();
  }
  for (std::size_t i = 0; i < fds.size(); ++i) pfds[i] = pollfd{fds[i], POLLIN | POLLRDHUP, 0};

  std::optional<Clock::time_point> deadline;
  if (timeout) {
    auto t = std::max(*timeout, std::chrono::nanoseconds::zero());
    // Saturate instead of overflowing for huge timeouts (they mean "practically forever").
    auto room = Clock::time_point::max() - Clock::now();
    deadline = t < room ? Clock::now() + t : Clock::time_point::max();
  }
  int n;
  for (;;) {
    timespec ts{};
    timespec* tsp = nullptr;
    if (deadline) {
      auto left = std::max(*deadline - Clock::now(), Clock::duration::zero());
      auto secs = std::chrono::duration_cast<std::chrono::seconds>(left);
      ts.tv_sec = static_cast<time_t>(secs.count());
      ts.tv_nsec = static_cast<long>(std::chrono::nanoseconds(left - secs).count());
      tsp = &ts;
    }
    n = ::ppoll(pfds, fds.size(), tsp, nullptr);
    if (n >= 0) break;
    if (errno != EINTR) detail::throw_errno("ppoll");
  }
  std::size_t count = 0;
  for (std::size_t i = 0; i < fds.size(); ++i) {
    if (pfds[i].revents & POLLNVAL) detail::throw_errno("ppoll", EBADF);
    ready[i] = (pfds[i].revents & kReady) != 0;
    count += ready[i];
  }
  return count;
}

bool wait_readable(int fd, std::optional<std::chrono::nanoseconds> timeout) {
  bool ready[1] = {false};
  return wait_readable(std::span<const int>(&fd, 1), ready, timeout) > 0;
}

}  // namespace mproc::sys
