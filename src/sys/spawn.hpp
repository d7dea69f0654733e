// posix_spawn of this very executable (/proc/self/exe): the `spawn` start method's exec. The
// child starts with default signal dispositions, the caller's signal mask, and one inherited fd.
#pragma once

#include <string>
#include <vector>

namespace mproc::sys {

// Starts /proc/self/exe with `argv` (argv[0] included) and the current environment plus `env`
// ("NAME=value" entries that replace same-named ones). `keep_fd` is fd kSpawnedFd (3) in the
// child; every other fd but 0, 1 and 2 is closed there, close-on-exec or not (as Python's
// close_fds: an fd a library forgot to mark O_CLOEXEC does not leak into workers). Returns the
// child's pid. Throws SystemError("posix_spawn").
inline constexpr int kSpawnedFd = 3;
[[nodiscard]] int spawn_self(const std::vector<std::string>& argv,
                             const std::vector<std::string>& env, int keep_fd);

// getenv + unsetenv: the value of `name` (empty when unset), removed from the environment.
// Not thread-safe (no environment call is); for start-up, before threads exist.
[[nodiscard]] std::string take_env(const char* name);

}  // namespace mproc::sys
