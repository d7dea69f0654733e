// The supervisor's kernel objects: an epoll set, eventfd doorbells and a timerfd deadline.
// All fds are O_CLOEXEC and non-blocking.
#pragma once

#include <sys/epoll.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>

#include "sys/unique_fd.hpp"

namespace mproc::sys {

class Epoll {
 public:
  Epoll();  // epoll_create1(EPOLL_CLOEXEC); throws SystemError
  // Watches fd for readability; `key` comes back in the event. Throws SystemError("epoll_ctl").
  void add(int fd, std::uint64_t key);
  void remove(int fd) noexcept;  // a closed or unknown fd is fine
  // Waits for events (timeout nullopt: forever). EINTR gives 0 events. Returns how many were
  // filled in. Throws SystemError("epoll_wait").
  std::size_t wait(std::span<epoll_event> events, std::optional<std::chrono::milliseconds> timeout);

 private:
  UniqueFd fd_;
};

// eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK). Throws SystemError("eventfd").
[[nodiscard]] UniqueFd make_eventfd();
// Adds 1 to the eventfd (async-signal-safe; never throws: a full counter is already readable).
void eventfd_signal(int fd) noexcept;
// Resets the counter to 0 (non-blocking read; never throws).
void eventfd_drain(int fd) noexcept;

// A CLOCK_MONOTONIC timerfd. Throws SystemError("timerfd_create").
[[nodiscard]] UniqueFd make_timerfd();
// Fires once at the absolute CLOCK_MONOTONIC time `deadline` (nullopt: disarm).
// Throws SystemError("timerfd_settime").
void timerfd_arm(int fd, std::optional<std::chrono::steady_clock::time_point> deadline);
// Consumes an expiry (non-blocking; never throws).
void timerfd_drain(int fd) noexcept;

}  // namespace mproc::sys
