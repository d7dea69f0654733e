#include "sys/cgroup.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <charconv>
#include <utility>

#include "sys/check.hpp"
#include "sys/cpu.hpp"
#include "sys/oom.hpp"
#include "sys/unique_fd.hpp"

namespace mproc {
namespace detail {

bool has_word(std::string_view list, std::string_view word) {
  while (!list.empty()) {
    const auto end = list.find_first_of(" \n");
    if (list.substr(0, end) == word) return true;
    if (end == std::string_view::npos) break;
    list.remove_prefix(end + 1);
  }
  return false;
}

}  // namespace detail

namespace sys {
namespace {

bool exists(const std::string& path) { return ::access(path.c_str(), F_OK) == 0; }
bool writable(const std::string& path) { return ::access(path.c_str(), W_OK) == 0; }

// Writes `text` to a cgroup file. O_CREAT so that the same code runs on a plain directory tree
// in tests; on cgroupfs the files exist already (and cannot be created).
void write_file(const std::string& path, std::string_view text) {
  const UniqueFd fd(call_unix(("open " + path).c_str(), [&] {
    return ::open(path.c_str(), O_WRONLY | O_CLOEXEC | O_CREAT, 0644);
  }));
  const auto n = call_unix(("write " + path).c_str(),
                           [&] { return ::write(fd.get(), text.data(), text.size()); });
  if (static_cast<std::size_t>(n) != text.size()) detail::throw_errno("write " + path, EIO);
}

// The directory of our cgroup in the hierarchy mounted as `fstype` with `controller` ("" for
// v2), under host.root, or nullopt.
std::optional<std::string> own_cgroup_dir(const CgroupHost& host, std::string_view fstype,
                                          std::string_view controller) {
  return detail::own_cgroup_dir(host.mountinfo, host.proc_self_cgroup, fstype, controller,
                                host.root);
}

std::optional<std::string> text_of(const std::string& path) { return read_text_file(path); }

std::optional<MemoryCgroupBase> find_v2(const CgroupHost& host, std::string& why) {
  auto own = own_cgroup_dir(host, "cgroup2", "");
  if (!own) {
    why = "no cgroup v2 hierarchy";
    return std::nullopt;
  }
  auto controllers = text_of(*own + "/cgroup.controllers");
  if (!controllers || !detail::has_word(*controllers, "memory")) {
    why = "the memory controller is not available in our cgroup v2 (" + *own + ")";
    return std::nullopt;
  }
  // Our own cgroup can hold our workers' cgroups only where the kernel lets a cgroup with
  // processes enable controllers for its children: the root.
  auto own_subtree = text_of(*own + "/cgroup.subtree_control");
  if (own_subtree && detail::has_word(*own_subtree, "memory") && writable(*own) &&
      writable(*own + "/cgroup.procs")) {
    return MemoryCgroupBase{CgroupVersion::v2, *own};
  }
  // A delegated subtree whose owner moved this process into a leaf: the leaf's parent.
  const auto mount = detail::find_cgroup_mount(host.mountinfo, "cgroup2", "");
  std::string top = host.root + (mount->mount_point == "/" ? "" : mount->mount_point);
  const auto slash = own->rfind('/');
  if (*own == top || slash == std::string::npos || slash < top.size()) {
    why = "our cgroup v2 is the top of the mount, and memory is not in its subtree_control";
    return std::nullopt;
  }
  std::string parent = own->substr(0, slash);
  // A pool inside a pool worker: siblings of the worker's cgroup would escape its limit.
  if (std::string_view(parent).substr(parent.rfind('/') + 1).starts_with("mproc-")) {
    why = "our cgroup v2 is a pool worker's (" + *own + ")";
    return std::nullopt;
  }
  auto parent_subtree = text_of(parent + "/cgroup.subtree_control");
  if (!parent_subtree || !detail::has_word(*parent_subtree, "memory")) {
    why = "memory is not in cgroup.subtree_control of our cgroup v2's parent (" + parent + ")";
    return std::nullopt;
  }
  if (!writable(parent) || !writable(parent + "/cgroup.procs")) {
    why = "our cgroup v2's parent (" + parent + ") is not delegated to us (not writable)";
    return std::nullopt;
  }
  return MemoryCgroupBase{CgroupVersion::v2, parent};
}

std::optional<MemoryCgroupBase> find_v1(const CgroupHost& host, std::string& why) {
  auto own = own_cgroup_dir(host, "cgroup", "memory");
  if (!own) {
    why = "no cgroup v1 memory hierarchy";
    return std::nullopt;
  }
  if (!exists(*own + "/memory.limit_in_bytes")) {
    why = "no memory.limit_in_bytes in our cgroup v1 (" + *own + ")";
    return std::nullopt;
  }
  if (!writable(*own)) {
    why = "our cgroup v1 memory cgroup (" + *own + ") is not writable";
    return std::nullopt;
  }
  return MemoryCgroupBase{CgroupVersion::v1, *own};
}

// Names of the subdirectories of dir (nothing if it cannot be read).
std::vector<std::string> subdirectories(const std::string& dir) noexcept {
  std::vector<std::string> out;
  try {
    DIR* d = ::opendir(dir.c_str());
    if (d == nullptr) return out;
    while (const dirent* e = ::readdir(d)) {
      const std::string_view name = e->d_name;
      if (name == "." || name == "..") continue;
      if (e->d_type == DT_DIR || e->d_type == DT_UNKNOWN) {
        struct stat st {};
        const std::string path = dir + "/" + std::string(name);
        if (::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) out.emplace_back(name);
      }
    }
    ::closedir(d);
  } catch (...) {  // std::bad_alloc
  }
  return out;
}

// rmdir, retried a little while the kernel still counts a just-reaped process in the cgroup.
bool remove_dir(const std::string& dir) noexcept {
  for (int attempt = 0; attempt < 1000; ++attempt) {
    if (::rmdir(dir.c_str()) == 0 || errno == ENOENT) return true;
    if (errno != EBUSY && errno != EINTR) return false;
    ::sched_yield();
  }
  return false;
}

// Removes the directories of pools whose process no longer exists (a program killed by SIGKILL
// cannot remove its own).
void sweep_stale(const std::string& base) noexcept {
  for (const auto& name : subdirectories(base)) {
    if (!name.starts_with("mproc-")) continue;
    const std::string_view rest = std::string_view(name).substr(6);
    int pid = 0;
    auto [end, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), pid);
    if (ec != std::errc() || end == rest.data() + rest.size() || *end != '-' || pid <= 0) continue;
    if (::kill(pid, 0) == 0 || errno != ESRCH) continue;
    remove_cgroup_tree(base + "/" + name);
  }
}

std::atomic<unsigned> next_tree{0};

}  // namespace

CgroupHost CgroupHost::current() noexcept {
  CgroupHost h;
  try {
    h.mountinfo = read_text_file("/proc/self/mountinfo").value_or("");
    h.proc_self_cgroup = read_text_file("/proc/self/cgroup").value_or("");
  } catch (...) {  // std::bad_alloc
  }
  return h;
}

std::optional<MemoryCgroupBase> find_memory_cgroup_base(const CgroupHost& host, std::string* why) {
  std::string why_v2, why_v1;
  if (auto b = find_v2(host, why_v2)) return b;
  if (auto b = find_v1(host, why_v1)) return b;
  if (why) *why = why_v2 + "; " + why_v1;
  return std::nullopt;
}

// ------------------------------------------------------------------ WorkerCgroup

WorkerCgroup::WorkerCgroup(CgroupVersion version, std::string dir) noexcept
    : version_(version), dir_(std::move(dir)) {}

WorkerCgroup::WorkerCgroup(WorkerCgroup&& o) noexcept
    : version_(o.version_), dir_(std::exchange(o.dir_, {})) {}

WorkerCgroup& WorkerCgroup::operator=(WorkerCgroup&& o) noexcept {
  if (this != &o) {
    remove();
    version_ = o.version_;
    dir_ = std::exchange(o.dir_, {});
  }
  return *this;
}

WorkerCgroup::~WorkerCgroup() { remove(); }

std::string WorkerCgroup::procs_file() const { return dir_ + "/cgroup.procs"; }

std::optional<std::uint64_t> WorkerCgroup::oom_kills() const noexcept {
  if (dir_.empty()) return std::nullopt;
  try {
    auto text = read_text_file(
        dir_ + (version_ == CgroupVersion::v2 ? "/memory.events" : "/memory.oom_control"));
    if (!text) return std::nullopt;
    return detail::flat_keyed_value(*text, "oom_kill");
  } catch (...) {  // std::bad_alloc
    return std::nullopt;
  }
}

bool WorkerCgroup::remove() noexcept {
  if (dir_.empty()) return true;
  const bool ok = remove_dir(dir_);
  dir_.clear();
  return ok;
}

// ------------------------------------------------------------------ MemoryCgroupTree

MemoryCgroupTree::MemoryCgroupTree(MemoryCgroupBase base, std::size_t limit_bytes)
    : base_(std::move(base)), limit_(limit_bytes) {
  sweep_stale(base_.dir);
  dir_ = base_.dir + "/mproc-" + std::to_string(::getpid()) + "-" +
         std::to_string(next_tree.fetch_add(1, std::memory_order_relaxed));
  check_unix(::mkdir(dir_.c_str(), 0755), ("mkdir " + dir_).c_str());
  try {
    if (base_.version == CgroupVersion::v2) write_file(dir_ + "/cgroup.subtree_control", "+memory");
    (void)make_worker("probe");  // made and removed: refusals show up now, not at a worker
  } catch (...) {
    remove_cgroup_tree(dir_);
    throw;
  }
}

MemoryCgroupTree::~MemoryCgroupTree() { remove_cgroup_tree(dir_); }

WorkerCgroup MemoryCgroupTree::make_worker(const std::string& name) {
  const std::string dir = dir_ + "/" + name;
  check_unix(::mkdir(dir.c_str(), 0755), ("mkdir " + dir).c_str());
  WorkerCgroup w(base_.version, dir);  // removed again if a write below fails
  const std::string limit = std::to_string(limit_);
  if (base_.version == CgroupVersion::v2) {
    write_file(dir + "/memory.max", limit);
    // The limit is a hard one: no swapping instead of the OOM kill.
    if (exists(dir + "/memory.swap.max")) write_file(dir + "/memory.swap.max", "0");
  } else {
    write_file(dir + "/memory.limit_in_bytes", limit);
    if (exists(dir + "/memory.memsw.limit_in_bytes")) {
      write_file(dir + "/memory.memsw.limit_in_bytes", limit);
    }
  }
  return w;
}

bool remove_cgroup_tree(const std::string& dir) noexcept {
  if (dir.empty()) return true;
  bool ok = true;
  for (const auto& name : subdirectories(dir)) {
    try {
      if (!remove_cgroup_tree(dir + "/" + name)) ok = false;
    } catch (...) {  // std::bad_alloc
      ok = false;
    }
  }
  return remove_dir(dir) && ok;
}

namespace child {

bool join_cgroup(const char* procs_file) noexcept {
  int fd;
  do {
    fd = ::open(procs_file, O_WRONLY | O_CLOEXEC);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) return false;
  ssize_t n;
  do {
    n = ::write(fd, "0", 1);
  } while (n < 0 && errno == EINTR);
  ::close(fd);
  return n == 1;
}

}  // namespace child
}  // namespace sys
}  // namespace mproc
