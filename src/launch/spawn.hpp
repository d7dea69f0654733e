// launch: start a child process with the spawn start method — a fresh exec of this program
// (/proc/self/exe, with the arguments init() saved), which init() diverts into its worker role.
//
// The parent passes one socket (its fd number and the parent's pid in MPROC_SPAWN) and sends a
// start message over it: a u64 length, a u64 fd count, the bytes, then the fds (SCM_RIGHTS).
// The message's first byte is the child's Role; the rest is that role's. The child, in init(), arms
// PR_SET_PDEATHSIG(SIGKILL), checks that its parent is still the spawner (else it dies at once,
// as the death signal would have done), reads the message and acknowledges with one byte. So,
// as with fork, spawn_child() returns once the child cannot outlive the spawning thread (unless
// the caller asks for Await::nothing).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "launch/fork.hpp"
#include "sys/unique_fd.hpp"

namespace mproc::launch {

// What a spawned child becomes (the start message's first byte).
enum class Role : std::uint8_t { process = 1, pool_worker = 2, forkserver = 3 };

struct StartMessage {
  Role role{};
  std::vector<std::byte> payload;   // the role's part of the message
  std::vector<sys::UniqueFd> fds;   // passed along, close-on-exec in the child
};

// The start message on a stream socket, as spawn_child and the forkserver send it: a u64 size,
// a u64 fd count, the role byte and the payload, then the fds (SCM_RIGHTS). Throws SystemError.
void send_start_message(int sock, Role role, std::span<const std::byte> payload,
                        std::span<const int> fds);
// Reads one; nullopt at end of stream or for a header out of bounds. Throws SystemError.
[[nodiscard]] std::optional<StartMessage> read_start_message(int sock);

// init() saves the program's arguments for spawn_child. Returns false if already saved.
bool save_arguments(int argc, char** argv);
[[nodiscard]] bool have_arguments() noexcept;

// Spawns; throws SystemError (posix_spawn, pidfd_open, sendmsg) or Error when init() did not
// save the arguments. With Await::acknowledgement it returns once the child has read its start
// message and armed its death signal (or died); with Await::nothing as soon as the message is
// sent, for a caller that watches the child's pidfd anyway and kills it when done (the Pool:
// its workers then exec and start up in parallel).
enum class Await : bool { nothing, acknowledgement };
[[nodiscard]] Child spawn_child(Role role, std::span<const std::byte> payload,
                                std::span<const int> fds = {},
                                Await await = Await::acknowledgement);

// For init(): in a child made by spawn_child, its start message (the death signal is armed
// then); nullopt in a program started any other way. A broken start-up ends the process
// (exit code 127): there is no one to report to.
[[nodiscard]] std::optional<StartMessage> take_start_message();

}  // namespace mproc::launch
