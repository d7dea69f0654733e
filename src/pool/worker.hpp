// The worker side of the pool: what a forked or spawned worker runs until it is told to stop,
// retires or dies. It reads chunks from its channel's task ring, runs each item through the chunk's
// invoker and answers every item, in order, on the result ring.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "pool/channel.hpp"
#include "sys/seccomp.hpp"

namespace mproc::pool {

// Everything a worker needs, prepared by the parent before the fork (the child sees a copy), or
// by a spawned worker from its start message (pool/spawned_worker.hpp).
struct WorkerBootstrap {
  Channel* channel = nullptr;
  PoolShared* shared = nullptr;
  int doorbell_fd = -1;                       // eventfd the supervisor sleeps on
  std::vector<int> close_fds{};               // the parent's fds the worker has no use for
  // Its siblings' channels (inherited mappings): unmapped, so that a task gone wild in this
  // worker cannot scribble on another worker's channel.
  std::vector<std::pair<void*, std::size_t>> unmap{};
  const std::function<void()>* initializer = nullptr;
  std::size_t max_tasks = 0;                  // 0: unlimited
  std::size_t memory_limit = 0;               // 0: none
  // The cgroup.procs of the worker's memory cgroup (sys/cgroup.hpp), joined before anything
  // else; empty, or joining refused: memory_limit is an RLIMIT_AS limit instead.
  std::string cgroup_procs{};
  bool in_memory_cgroup = false;              // set by worker_main once joined
  bool record_start_times = false;            // a task timeout is set
  std::size_t max_message_size = 0;           // 0: no limit
  std::optional<sys::SandboxPolicy> sandbox{};  // entered after the initializer
  // Spawned: the parent's addresses mean nothing here; chunks name their invokers through the
  // kBind messages that precede them.
  bool remote = false;
  // mproc::worker_id() here; and what builds and installs mproc::worker_state() (after the
  // initializer, before the sandbox; pool/worker_state.hpp), or null.
  int worker_id = -1;
  const std::function<void()>* worker_state = nullptr;
  std::chrono::milliseconds soft_timeout{0};  // 0: none (no timer thread)
};

// launch::ChildBody for a pool worker; the result is the exit code.
int worker_main(void* bootstrap) noexcept;

// Tests only: from a task, publishes `payload` as a record of `kind` (channel.hpp) on this
// worker's results ring, as a corrupted or compromised worker could (RELIABILITY H4). False
// outside a pool worker.
bool forge_record_for_testing(std::uint32_t kind, std::span<const std::byte> payload);

}  // namespace mproc::pool
