#include "sys/oom.hpp"

#include <charconv>
#include <tuple>

#include "sys/cpu.hpp"

namespace mproc {
namespace detail {
namespace {

// Calls f(line) for each line of text until f returns true.
template <class F>
bool any_line(std::string_view text, F&& f) {
  while (!text.empty()) {
    auto nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    if (f(line)) return true;
  }
  return false;
}

// The n-th field of a line split on single `sep` characters, or empty.
std::string_view field(std::string_view line, std::size_t n, char sep = ' ') {
  for (std::size_t i = 0; i < n; ++i) {
    auto at = line.find(sep);
    if (at == std::string_view::npos) return {};
    line.remove_prefix(at + 1);
  }
  return line.substr(0, line.find(sep));
}

bool has_item(std::string_view comma_list, std::string_view item) {
  for (;;) {
    auto comma = comma_list.find(',');
    if (comma_list.substr(0, comma) == item) return true;
    if (comma == std::string_view::npos) return false;
    comma_list.remove_prefix(comma + 1);
  }
}

}  // namespace

std::optional<std::string> cgroup_path_of(std::string_view text, std::string_view controller) {
  std::optional<std::string> path;
  any_line(text, [&](std::string_view line) {
    // "hierarchy-id:controllers:path"; the path itself may contain ':'.
    auto c1 = line.find(':');
    if (c1 == std::string_view::npos) return false;
    auto c2 = line.find(':', c1 + 1);
    if (c2 == std::string_view::npos) return false;
    std::string_view id = line.substr(0, c1);
    std::string_view controllers = line.substr(c1 + 1, c2 - c1 - 1);
    bool match =
        controller.empty() ? (id == "0" && controllers.empty()) : has_item(controllers, controller);
    if (match) path = std::string(line.substr(c2 + 1));
    return match;
  });
  return path;
}

std::optional<CgroupMount> find_cgroup_mount(std::string_view mountinfo, std::string_view fstype,
                                             std::string_view option) {
  std::optional<CgroupMount> found;
  any_line(mountinfo, [&](std::string_view line) {
    // "id parent maj:min root mount-point options [optional...] - fstype source super-options"
    auto dash = line.find(" - ");
    if (dash == std::string_view::npos) return false;
    std::string_view tail = line.substr(dash + 3);
    if (field(tail, 0) != fstype) return false;
    if (!option.empty() && !has_item(field(tail, 2), option)) return false;
    std::string_view root = field(line, 3);
    std::string_view mount_point = field(line, 4);
    if (root.empty() || mount_point.empty()) return false;
    found = CgroupMount{std::string(root), std::string(mount_point)};
    return true;
  });
  return found;
}

std::optional<std::uint64_t> flat_keyed_value(std::string_view text, std::string_view key) {
  std::optional<std::uint64_t> value;
  any_line(text, [&](std::string_view line) {
    if (field(line, 0) != key) return false;
    std::string_view v = field(line, 1);
    std::uint64_t n = 0;
    auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
    if (ec == std::errc() && end == v.data() + v.size() && !v.empty()) value = n;
    return true;
  });
  return value;
}

std::optional<std::string> own_cgroup_dir(std::string_view mountinfo,
                                          std::string_view proc_self_cgroup,
                                          std::string_view fstype, std::string_view controller,
                                          std::string_view root) {
  auto mount = find_cgroup_mount(mountinfo, fstype, controller);
  auto path = cgroup_path_of(proc_self_cgroup, controller);
  if (!mount || !path) return std::nullopt;
  // Our path is relative to the hierarchy's root; the mount shows the part below its root.
  std::string rel = *path;
  if (mount->root != "/") {
    if (!rel.starts_with(mount->root)) return std::nullopt;
    rel.erase(0, mount->root.size());
  }
  while (!rel.empty() && rel.back() == '/') rel.pop_back();
  if (!rel.empty() && rel.front() != '/') rel.insert(0, 1, '/');
  std::string mp = mount->mount_point;
  if (mp == "/") mp.clear();
  return std::string(root) + mp + rel;
}

}  // namespace detail

namespace sys {
namespace {

// memory.events (v2) or, on a hybrid host, memory.oom_control (v1): whichever exists.
std::string oom_counter_file() {
  auto mountinfo = read_text_file("/proc/self/mountinfo");
  auto cgroup = read_text_file("/proc/self/cgroup");
  if (!mountinfo || !cgroup) return {};
  for (const auto& [fstype, controller, file] :
       {std::tuple{"cgroup2", "", "memory.events"},
        std::tuple{"cgroup", "memory", "memory.oom_control"}}) {
    auto dir = detail::own_cgroup_dir(*mountinfo, *cgroup, fstype, controller);
    if (!dir) continue;
    const std::string path = *dir + "/" + file;
    if (read_text_file(path)) return path;
  }
  return {};
}

}  // namespace

OomKillCounter::OomKillCounter() noexcept {
  try {
    file_ = oom_counter_file();
  } catch (...) {  // std::bad_alloc
    file_.clear();
  }
}

std::optional<std::uint64_t> OomKillCounter::count() const noexcept {
  if (file_.empty()) return std::nullopt;
  try {
    auto text = read_text_file(file_);
    if (!text) return std::nullopt;
    return detail::flat_keyed_value(*text, "oom_kill");
  } catch (...) {  // std::bad_alloc
    return std::nullopt;
  }
}

std::optional<std::uint64_t> cgroup_oom_kill_count() noexcept { return OomKillCounter().count(); }

}  // namespace sys
}  // namespace mproc
