// Reading a cgroup v2 CPU quota (cpu.max) for process_cpu_count(). Pure parsers, separately
// testable, plus the one function that reads the files.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace mproc::detail {

// A cpu.max line: "max 100000" (no limit) gives nullopt; "150000 100000" gives 2
// (ceil(quota/period), at least 1). Malformed text gives nullopt.
[[nodiscard]] std::optional<unsigned> parse_cpu_max(std::string_view text);

struct Cgroup2Mount {
  std::string root;         // the mount's root within the cgroup hierarchy (4th field)
  std::string mount_point;  // where it is mounted (5th field)
};
// The first cgroup2 mount in /proc/self/mountinfo text.
[[nodiscard]] std::optional<Cgroup2Mount> find_cgroup2_mount(std::string_view mountinfo);

// The cgroup v2 path ("0::<path>") in /proc/self/cgroup text.
[[nodiscard]] std::optional<std::string> cgroup2_path(std::string_view proc_self_cgroup);

// The smallest cpu.max limit of this process's cgroup and its ancestors; nullopt when none.
[[nodiscard]] std::optional<unsigned> cgroup_cpu_limit() noexcept;

}  // namespace mproc::detail
