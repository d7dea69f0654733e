// Futexes on shared memory: the sleep/wake half of the pool's spin-then-sleep channels. The
// words live in MAP_SHARED memory, so these are the process-shared (non-PRIVATE) operations.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>

namespace mproc::sys {

// Sleeps while *word == expected, until a futex_wake, a signal or the timeout. Returns at once
// if the value differs. Spurious returns are allowed: callers re-check their condition.
// Throws SystemError("futex(FUTEX_WAIT)") for anything but EAGAIN, EINTR and ETIMEDOUT.
void futex_wait(std::atomic<std::uint32_t>& word, std::uint32_t expected,
                std::optional<std::chrono::nanoseconds> timeout = std::nullopt);

// Wakes up to `count` waiters on word. Never throws (it cannot fail on a valid address), so it
// is safe in a worker's hot path and in destructors.
void futex_wake(std::atomic<std::uint32_t>& word, int count = 1) noexcept;

}  // namespace mproc::sys
