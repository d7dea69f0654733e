// A pool worker under the spawn start method: a fresh exec of this program that init() diverts
// here (launch::Role::pool_worker). Its start message carries the worker's settings and, as
// passed fds, its channel's memfd, the pool's shared page (a memfd) and the supervisor's
// doorbell; it maps them and runs the same worker loop as a forked worker (pool/worker.hpp).
#pragma once

#include <cstddef>
#include <span>
#include <vector>

#include "pool/worker.hpp"
#include "sys/unique_fd.hpp"

namespace mproc::pool {

// The fds a spawned worker's start message passes, in this order.
enum SpawnedWorkerFd : std::size_t { kChannelFd = 0, kSharedFd = 1, kDoorbellFd = 2, kFdCount = 3 };

// The start message's payload (the parent's side). `boot` gives the settings (its pointers and
// fds are not sent); `initializer` and `worker_state` are encode_remote_call messages, or empty
// for none. The fds after the pool's own are the initializer's (`initializer_fds` of them), then
// the worker state's.
[[nodiscard]] std::vector<std::byte> spawned_worker_message(
    const WorkerBootstrap& boot, std::size_t ring_bytes, std::span<const std::byte> initializer,
    std::span<const std::byte> worker_state = {}, std::size_t initializer_fds = 0);

// Runs the worker a start message describes and ends the process with its exit code (a broken
// start message: 127, as launch does).
[[noreturn]] void run_spawned_worker(std::span<const std::byte> payload,
                                     std::vector<sys::UniqueFd> fds) noexcept;

}  // namespace mproc::pool
