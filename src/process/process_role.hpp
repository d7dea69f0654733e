// The child side of Process under the spawn start method: what a spawned child runs once init()
// has read its start message.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <vector>

#include "mproc/detail/unique_fd.hpp"

namespace mproc::detail {

// The start message of a spawned Process (built by Process::start in the parent, on the thread
// that starts it: the child takes that thread's signal mask, as a forked child would).
[[nodiscard]] std::vector<std::byte> process_start_message(const std::string& name,
                                                           const std::string& child_prefix,
                                                           std::span<const std::byte> call);

// Runs the Process described by a start message and ends the process with its exit code (as
// fork's child does: 0, 1 after an uncaught exception, or what the function passed to exit).
// fds: what came with the message, for handle arguments (Queue, Lock, ...).
[[noreturn]] void run_spawned_process(std::span<const std::byte> message,
                                      std::span<UniqueFd> fds) noexcept;

}  // namespace mproc::detail
