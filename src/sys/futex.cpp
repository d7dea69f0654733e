#include "sys/futex.hpp"

#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <climits>

#include "mproc/error.hpp"

namespace mproc::sys {

static_assert(sizeof(std::atomic<std::uint32_t>) == sizeof(std::uint32_t) &&
              std::atomic<std::uint32_t>::is_always_lock_free);

void futex_wait(std::atomic<std::uint32_t>& word, std::uint32_t expected,
                std::optional<std::chrono::nanoseconds> timeout) {
  timespec ts{};
  timespec* tsp = nullptr;
  if (timeout) {
    const auto ns = timeout->count() < 0 ? 0 : timeout->count();
    ts.tv_sec = static_cast<time_t>(ns / 1'000'000'000);
    ts.tv_nsec = static_cast<long>(ns % 1'000'000'000);
    tsp = &ts;
  }
  // A relative timeout; an EINTR return is a spurious wake-up the caller absorbs.
  if (::syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&word), FUTEX_WAIT, expected, tsp,
                nullptr, 0) == -1) {
    const int err = errno;
    if (err != EAGAIN && err != EINTR && err != ETIMEDOUT) {
      detail::throw_errno("futex(FUTEX_WAIT)", err);
    }
  }
}

void futex_wake(std::atomic<std::uint32_t>& word, int count) noexcept {
  ::syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&word), FUTEX_WAKE,
            count < 0 ? INT_MAX : count, nullptr, nullptr, 0);
}

}  // namespace mproc::sys
