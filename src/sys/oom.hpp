// The kernel's OOM killer, as seen from the calling process's memory cgroup.
//
// A worker that died by SIGKILL was OOM-killed if its cgroup's oom_kill counter moved across its
// death: read the counter before and after. The counter is per cgroup, so another process of the
// same cgroup killed at the same moment makes this a best guess, not a proof. Workers forked by
// the pool stay in the parent's cgroup, so the parent's counter is the workers' counter — unless
// each runs in a memory cgroup of its own (cgroup.hpp), whose exact counter the pool reads then.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace mproc::sys {

// The cgroup's `oom_kill` count: from memory.events of the process's cgroup v2, or, on a host
// whose memory controller is still on cgroup v1 (hybrid layout), from memory.oom_control. The
// cgroup mounts are found in /proc/self/mountinfo, not assumed at /sys/fs/cgroup. nullopt when
// none of this is available (no memory controller, kernel < 4.13, unreadable). Never throws.
[[nodiscard]] std::optional<std::uint64_t> cgroup_oom_kill_count() noexcept;

// The same counter, its file found once (at construction: /proc/self/mountinfo and
// /proc/self/cgroup) and then read alone, for a caller that reads it at every worker death.
class OomKillCounter {
 public:
  OomKillCounter() noexcept;
  [[nodiscard]] std::optional<std::uint64_t> count() const noexcept;

 private:
  std::string file_;  // empty: no counter on this host
};

}  // namespace mproc::sys

namespace mproc::detail {

// The parsers behind cgroup_oom_kill_count, exposed for tests.

// The path of the cgroup that holds `controller` in /proc/self/cgroup text: with an empty
// controller the v2 line "0::/a/b", else the v1 line "4:memory:/a/b" (controllers may be
// comma-joined, "3:cpu,cpuacct:/").
[[nodiscard]] std::optional<std::string> cgroup_path_of(std::string_view proc_self_cgroup,
                                                        std::string_view controller);

struct CgroupMount {
  std::string root;         // the mount's root within the hierarchy (4th field)
  std::string mount_point;  // where it is mounted (5th field)
};
// The first mount of filesystem type `fstype` ("cgroup2", "cgroup") in /proc/self/mountinfo text
// whose super options include `option` (ignored when empty), e.g. ("cgroup", "memory").
[[nodiscard]] std::optional<CgroupMount> find_cgroup_mount(std::string_view mountinfo,
                                                           std::string_view fstype,
                                                           std::string_view option);

// The directory of our cgroup that holds `controller` ("" for v2) in the hierarchy mounted as
// `fstype`, from /proc/self/mountinfo and /proc/self/cgroup text, or nullopt; `root` is put in
// front of it (a test's fake tree).
[[nodiscard]] std::optional<std::string> own_cgroup_dir(std::string_view mountinfo,
                                                        std::string_view proc_self_cgroup,
                                                        std::string_view fstype,
                                                        std::string_view controller,
                                                        std::string_view root = "");

// The value of `key` in flat-keyed text ("oom 1\noom_kill 3\n" -> 3 for "oom_kill").
[[nodiscard]] std::optional<std::uint64_t> flat_keyed_value(std::string_view text,
                                                            std::string_view key);

}  // namespace mproc::detail
