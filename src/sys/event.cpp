#include "sys/event.hpp"

#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <cerrno>

#include "sys/check.hpp"

namespace mproc::sys {

Epoll::Epoll() : fd_(check_unix(::epoll_create1(EPOLL_CLOEXEC), "epoll_create1")) {}

void Epoll::add(int fd, std::uint64_t key) {
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = key;
  check_unix(::epoll_ctl(fd_.get(), EPOLL_CTL_ADD, fd, &ev), "epoll_ctl(EPOLL_CTL_ADD)");
}

void Epoll::remove(int fd) noexcept { ::epoll_ctl(fd_.get(), EPOLL_CTL_DEL, fd, nullptr); }

std::size_t Epoll::wait(std::span<epoll_event> events,
                        std::optional<std::chrono::milliseconds> timeout) {
  const int ms = timeout ? static_cast<int>(std::max<std::int64_t>(0, timeout->count())) : -1;
  const int n = ::epoll_wait(fd_.get(), events.data(), static_cast<int>(events.size()), ms);
  if (n < 0) {
    if (errno == EINTR) return 0;
    detail::throw_errno("epoll_wait");
  }
  return static_cast<std::size_t>(n);
}

UniqueFd make_eventfd() {
  return UniqueFd(check_unix(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK), "eventfd"));
}

void eventfd_signal(int fd) noexcept {
  const std::uint64_t one = 1;
  // EAGAIN means the counter is saturated: it is readable already, which is all we want.
  while (::write(fd, &one, sizeof one) < 0 && errno == EINTR) {
  }
}

namespace {
// eventfd and timerfd both hand out a u64 counter, reset by a read.
void read_counter(int fd) noexcept {
  std::uint64_t v = 0;
  while (::read(fd, &v, sizeof v) < 0 && errno == EINTR) {
  }
}
}  // namespace

void eventfd_drain(int fd) noexcept { read_counter(fd); }

UniqueFd make_timerfd() {
  return UniqueFd(
      check_unix(::timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK), "timerfd_create"));
}

void timerfd_arm(int fd, std::optional<std::chrono::steady_clock::time_point> deadline) {
  itimerspec spec{};
  if (deadline) {
    const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                        deadline->time_since_epoch())
                        .count();
    // 0 would disarm: an already-passed deadline still has to fire.
    spec.it_value.tv_sec = static_cast<time_t>(ns / 1'000'000'000);
    spec.it_value.tv_nsec = static_cast<long>(ns % 1'000'000'000);
    if (spec.it_value.tv_sec == 0 && spec.it_value.tv_nsec == 0) spec.it_value.tv_nsec = 1;
  }
  check_unix(::timerfd_settime(fd, TFD_TIMER_ABSTIME, &spec, nullptr), "timerfd_settime");
}

void timerfd_drain(int fd) noexcept { read_counter(fd); }

}  // namespace mproc::sys
