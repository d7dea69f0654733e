// What the kernel says about CPUs, and small text files under /proc and /sys.
#pragma once

#include <optional>
#include <string>

namespace mproc::sys {

// Logical CPUs online (sysconf(_SC_NPROCESSORS_ONLN)); at least 1.
[[nodiscard]] unsigned online_cpu_count() noexcept;

// CPUs in the calling thread's affinity mask (sched_getaffinity), or nullopt if it failed.
[[nodiscard]] std::optional<unsigned> affinity_cpu_count() noexcept;

// The whole content of a small file (opened O_CLOEXEC), or nullopt if it cannot be read.
[[nodiscard]] std::optional<std::string> read_text_file(const std::string& path) noexcept;

}  // namespace mproc::sys
