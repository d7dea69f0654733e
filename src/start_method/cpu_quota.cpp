#include "start_method/cpu_quota.hpp"

#include <algorithm>
#include <charconv>
#include <cstdint>

#include "sys/cpu.hpp"

namespace mproc::detail {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\n' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\n' || s.back() == '\t')) {
    s.remove_suffix(1);
  }
  return s;
}

std::optional<std::uint64_t> to_u64(std::string_view s) {
  std::uint64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

// Splits on single spaces; returns the n-th field or empty.
std::string_view field(std::string_view line, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) {
    auto sp = line.find(' ');
    if (sp == std::string_view::npos) return {};
    line.remove_prefix(sp + 1);
  }
  return line.substr(0, line.find(' '));
}

}  // namespace

std::optional<unsigned> parse_cpu_max(std::string_view text) {
  text = trim(text);
  auto sp = text.find(' ');
  if (sp == std::string_view::npos) return std::nullopt;
  std::string_view quota_s = text.substr(0, sp);
  if (quota_s == "max") return std::nullopt;
  auto quota = to_u64(quota_s);
  auto period = to_u64(trim(text.substr(sp + 1)));
  if (!quota || !period || *period == 0) return std::nullopt;
  std::uint64_t cpus = (*quota + *period - 1) / *period;
  return static_cast<unsigned>(std::clamp<std::uint64_t>(cpus, 1, 1u << 20));
}

std::optional<Cgroup2Mount> find_cgroup2_mount(std::string_view mountinfo) {
  while (!mountinfo.empty()) {
    auto nl = mountinfo.find('\n');
    std::string_view line = mountinfo.substr(0, nl);
    mountinfo.remove_prefix(nl == std::string_view::npos ? mountinfo.size() : nl + 1);
    auto dash = line.find(" - ");
    if (dash == std::string_view::npos) continue;
    if (field(line.substr(dash + 3), 0) != "cgroup2") continue;
    std::string_view root = field(line, 3);
    std::string_view mount_point = field(line, 4);
    if (root.empty() || mount_point.empty()) continue;
    return Cgroup2Mount{std::string(root), std::string(mount_point)};
  }
  return std::nullopt;
}

std::optional<std::string> cgroup2_path(std::string_view text) {
  while (!text.empty()) {
    auto nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    if (line.starts_with("0::")) return std::string(line.substr(3));
  }
  return std::nullopt;
}

std::optional<unsigned> cgroup_cpu_limit() noexcept {
  try {
    auto mountinfo = sys::read_text_file("/proc/self/mountinfo");
    auto cgroup = sys::read_text_file("/proc/self/cgroup");
    if (!mountinfo || !cgroup) return std::nullopt;
    auto mount = find_cgroup2_mount(*mountinfo);
    auto path = cgroup2_path(*cgroup);
    if (!mount || !path) return std::nullopt;
    // Our path is relative to the hierarchy's root; the mount shows the part below its root.
    std::string rel = *path;
    if (mount->root != "/") {
      if (!rel.starts_with(mount->root)) return std::nullopt;
      rel = rel.substr(mount->root.size());
    }
    while (!rel.empty() && rel.back() == '/') rel.pop_back();
    std::optional<unsigned> limit;
    // Walk from our cgroup up to the mount's root; the tightest quota on the way applies.
    for (;;) {
      if (auto text = sys::read_text_file(mount->mount_point + rel + "/cpu.max")) {
        if (auto n = parse_cpu_max(*text)) limit = limit ? std::min(*limit, *n) : *n;
      }
      if (rel.empty()) break;
      rel.resize(rel.rfind('/'));
    }
    return limit;
  } catch (...) {  // std::bad_alloc
    return std::nullopt;
  }
}

}  // namespace mproc::detail
