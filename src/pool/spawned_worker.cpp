#include "pool/spawned_worker.hpp"

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "mproc/codec.hpp"
#include "mproc/detail/remote_call.hpp"
#include "pool/channel.hpp"
#include "pool/worker_state.hpp"
#include "sys/fork.hpp"
#include "sys/memory.hpp"
#include "sys/shm.hpp"

namespace mproc::pool {
namespace {

struct SpawnedWorkerStart {
  std::uint64_t ring_bytes = 0;
  std::uint64_t max_tasks = 0;
  std::uint64_t memory_limit = 0;
  std::uint64_t max_message_size = 0;
  bool record_start_times = false;
  std::vector<std::byte> initializer;  // encode_remote_call message, or empty
  bool sandbox = false;
  sys::SandboxPolicy policy{};
  std::int32_t worker_id = -1;
  std::vector<std::byte> worker_state;  // encode_remote_call message, or empty
  std::uint32_t initializer_fds = 0;    // passed fds of the initializer's handle arguments
  std::string cgroup_procs;             // WorkerBootstrap::cgroup_procs
  std::int64_t soft_timeout_ms = 0;
  template <class Ar>
  void serialize(Ar& ar) {
    ar(ring_bytes, max_tasks, memory_limit, max_message_size, record_start_times, initializer,
       sandbox, policy, worker_id, worker_state, initializer_fds, cgroup_procs, soft_timeout_ms);
  }
};

}  // namespace

std::vector<std::byte> spawned_worker_message(const WorkerBootstrap& boot, std::size_t ring_bytes,
                                              std::span<const std::byte> initializer,
                                              std::span<const std::byte> worker_state,
                                              std::size_t initializer_fds) {
  SpawnedWorkerStart s;
  s.ring_bytes = ring_bytes;
  s.max_tasks = boot.max_tasks;
  s.memory_limit = boot.memory_limit;
  s.max_message_size = boot.max_message_size;
  s.record_start_times = boot.record_start_times;
  s.initializer.assign(initializer.begin(), initializer.end());
  s.sandbox = boot.sandbox.has_value();
  if (boot.sandbox) s.policy = *boot.sandbox;
  s.worker_id = boot.worker_id;
  s.worker_state.assign(worker_state.begin(), worker_state.end());
  s.initializer_fds = static_cast<std::uint32_t>(initializer_fds);
  s.cgroup_procs = boot.cgroup_procs;
  s.soft_timeout_ms = boot.soft_timeout.count();
  return encode(s);
}

void run_spawned_worker(std::span<const std::byte> payload,
                        std::vector<sys::UniqueFd> fds) noexcept {
  int code = 127;
  try {
    if (fds.size() < kFdCount) sys::child::exit_now(127);
    const auto s = decode<SpawnedWorkerStart>(payload);
    Channel channel(std::move(fds[kChannelFd]), static_cast<std::size_t>(s.ring_bytes));
    const sys::SharedMapping shared_map(fds[kSharedFd].get(),
                                        sys::file_size(fds[kSharedFd].get()));
    if (shared_map.size() < sizeof(PoolShared)) sys::child::exit_now(127);
    fds[kSharedFd].reset();
    if (fds.size() < kFdCount + s.initializer_fds) sys::child::exit_now(127);
    const auto extra_fds = std::span<sys::UniqueFd>(fds).subspan(kFdCount);
    std::function<void()> initializer;
    if (!s.initializer.empty()) {
      // The fds after the pool's own are the initializer's handle arguments.
      initializer = [&s, extra_fds] {
        const detail::RemoteFdScope scope(extra_fds.first(s.initializer_fds));
        detail::run_remote_call(s.initializer);
      };
    }
    std::function<void()> worker_state;
    if (!s.worker_state.empty()) {
      worker_state = [&s, extra_fds] {
        const detail::RemoteFdScope scope(extra_fds.subspan(s.initializer_fds));
        std::unique_ptr<detail::KeptValue> state;
        {
          const detail::KeepResultScope keep(state);
          detail::run_remote_call(s.worker_state);
        }
        install_worker_state(std::move(state));
      };
    }
    WorkerBootstrap boot;
    boot.channel = &channel;
    boot.shared = std::launder(reinterpret_cast<PoolShared*>(shared_map.data()));
    boot.doorbell_fd = fds[kDoorbellFd].get();
    boot.initializer = &initializer;
    boot.max_tasks = static_cast<std::size_t>(s.max_tasks);
    boot.memory_limit = static_cast<std::size_t>(s.memory_limit);
    boot.record_start_times = s.record_start_times;
    boot.max_message_size = static_cast<std::size_t>(s.max_message_size);
    if (s.sandbox) boot.sandbox = s.policy;
    boot.soft_timeout = std::chrono::milliseconds(s.soft_timeout_ms);
    boot.remote = true;
    boot.worker_id = s.worker_id;
    boot.worker_state = &worker_state;
    boot.cgroup_procs = s.cgroup_procs;
    code = worker_main(&boot);
  } catch (...) {
    code = 127;
  }
  // As a forked worker: no static destructors, no atexit handlers of a program that never ran.
  sys::child::exit_now(code);
}

}  // namespace mproc::pool
