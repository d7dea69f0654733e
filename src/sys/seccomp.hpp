// sys/seccomp: the sandbox a pool worker enters (mproc/sandbox.hpp says what it allows). The only
// place that talks to libseccomp.
#pragma once

#include <cstddef>
#include <cstdint>

namespace mproc::sys {

struct SandboxPolicy {
  bool kill_on_violation = false;  // SCMP_ACT_KILL_PROCESS instead of SCMP_ACT_ERRNO(EPERM)
  std::uint64_t cpu_seconds = 0;   // 0: no limit
  std::uint64_t address_space_bytes = 0;
  std::uint64_t file_size_bytes = 0;
};

// Whether this build has libseccomp.
[[nodiscard]] bool sandbox_available() noexcept;

// Applies the limits, PR_SET_NO_NEW_PRIVS and the filter to the calling process (every thread:
// SECCOMP_FILTER_FLAG_TSYNC). Irreversible. Throws SystemError naming the failed call, or Error
// when the build has no libseccomp.
void enter_sandbox(const SandboxPolicy& policy);

}  // namespace mproc::sys
