// Memory cgroups for pool workers: a hard per-worker memory limit enforced by the kernel.
//
// Where this process may make child cgroups with the memory controller (a delegated cgroup v2
// subtree, or a writable cgroup v1 memory hierarchy), a pool makes one directory of its own,
// <base>/mproc-<pid>-<n>, and one child of it per worker, w<k>, with the limit written in. The
// worker writes itself into its child's cgroup.procs before it runs anything (child::join_cgroup),
// so its initializer and every task are charged there; past the limit the kernel OOM-kills it,
// and the child's own oom_kill counter says so. Elsewhere the pool keeps its RLIMIT_AS limit.
//
// The base directory:
// - cgroup v2: our own cgroup, if memory is already enabled in its cgroup.subtree_control (the
//   real root only: the kernel refuses controllers in the subtree of a cgroup with processes);
//   else its parent, if writable with memory in cgroup.subtree_control — the layout of a
//   delegated subtree whose owner moved itself into a leaf (systemd's Delegate= convention).
//   "memory" must be in our cgroup.controllers.
// - cgroup v1 (hybrid hosts, older distributions): our memory cgroup, if writable.
// Every path is under a root prefix ("" on the host) so tests run this on fake trees.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mproc::sys {

enum class CgroupVersion { v1, v2 };

// What the search looks at: /proc/self/mountinfo and /proc/self/cgroup, and a prefix put before
// every mount point.
struct CgroupHost {
  std::string mountinfo;
  std::string proc_self_cgroup;
  std::string root;  // "" on the host; a temporary directory in tests
  // This process's view (empty texts if /proc cannot be read).
  [[nodiscard]] static CgroupHost current() noexcept;
};

struct MemoryCgroupBase {
  CgroupVersion version{};
  std::string dir;  // an existing cgroup directory, children of which get the memory controller
};

// The base directory for worker cgroups, or nullopt; `why` (if given) then says what was
// missing, for diagnostics. Reads files and checks write access only; changes nothing.
[[nodiscard]] std::optional<MemoryCgroupBase> find_memory_cgroup_base(const CgroupHost& host,
                                                                      std::string* why = nullptr);

// One worker's cgroup: a directory with its limit. Move-only; removed on destruction.
class WorkerCgroup {
 public:
  WorkerCgroup() noexcept = default;
  WorkerCgroup(CgroupVersion version, std::string dir) noexcept;
  WorkerCgroup(WorkerCgroup&& o) noexcept;
  WorkerCgroup& operator=(WorkerCgroup&& o) noexcept;
  WorkerCgroup(const WorkerCgroup&) = delete;
  WorkerCgroup& operator=(const WorkerCgroup&) = delete;
  ~WorkerCgroup();

  [[nodiscard]] const std::string& dir() const noexcept { return dir_; }
  // The file a process writes "0" into to join this cgroup.
  [[nodiscard]] std::string procs_file() const;
  // How many times the kernel's OOM killer killed a process of this cgroup, or nullopt if the
  // counter cannot be read (kernel < 4.13 on v1).
  [[nodiscard]] std::optional<std::uint64_t> oom_kills() const noexcept;
  // rmdir (with retries while the kernel still counts a reaped process in it). False if the
  // directory is still there; it is forgotten either way (the pool's directory sweeps it).
  bool remove() noexcept;

 private:
  CgroupVersion version_{};
  std::string dir_;  // empty: nothing to remove
};

// A pool's directory of worker cgroups, each limited to `limit_bytes` of memory (v1: plus swap
// when memory.memsw exists; v2: no swap when memory.swap.max exists).
class MemoryCgroupTree {
 public:
  // Makes <base>/mproc-<pid>-<n> (v2: with +memory in its cgroup.subtree_control), first
  // removing the directories of pools whose process is gone, and makes and removes one probe
  // worker cgroup, so that a kernel that refuses anything refuses it here. Throws SystemError
  // naming the call and path (EACCES, EROFS, EBUSY, ENOENT...); nothing is left behind then.
  MemoryCgroupTree(MemoryCgroupBase base, std::size_t limit_bytes);
  MemoryCgroupTree(const MemoryCgroupTree&) = delete;
  MemoryCgroupTree& operator=(const MemoryCgroupTree&) = delete;
  // Removes the worker cgroups still there (their processes must be gone) and its directory.
  ~MemoryCgroupTree();

  [[nodiscard]] CgroupVersion version() const noexcept { return base_.version; }
  [[nodiscard]] const std::string& dir() const noexcept { return dir_; }

  // A new worker cgroup `name` with the limit. Throws SystemError.
  [[nodiscard]] WorkerCgroup make_worker(const std::string& name);

 private:
  MemoryCgroupBase base_;
  std::size_t limit_;
  std::string dir_;
};

// Removes `dir`, a cgroup directory, after its child directories (cgroups have no removable
// files: rmdir alone removes one). Best effort; false if anything is left.
bool remove_cgroup_tree(const std::string& dir) noexcept;

namespace child {
// The calling process joins the cgroup whose cgroup.procs is `procs_file` (open, write "0",
// close: async-signal-safe, for a worker before it runs anything). False if the kernel refused.
bool join_cgroup(const char* procs_file) noexcept;
}  // namespace child

}  // namespace mproc::sys

namespace mproc::detail {

// "memory" in a space-separated controller list (cgroup.controllers, cgroup.subtree_control).
[[nodiscard]] bool has_word(std::string_view list, std::string_view word);

}  // namespace mproc::detail
