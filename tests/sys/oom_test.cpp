#include "sys/oom.hpp"

#include <gtest/gtest.h>

namespace {

using mproc::detail::cgroup_path_of;
using mproc::detail::find_cgroup_mount;
using mproc::detail::flat_keyed_value;

// A hybrid host: controllers on v1, an empty v2 hierarchy at .../unified.
constexpr const char* kHybridMountinfo =
    "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
    "32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct\n"
    "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
    "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";

constexpr const char* kHybridCgroup =
    "9:name=systemd:/\n"
    "4:memory:/jobs/42\n"
    "2:cpu,cpuacct:/\n"
    "0::/\n";

TEST(OomParsers, FindsTheV2PathAndTheV1ControllerPath) {
  EXPECT_EQ(cgroup_path_of(kHybridCgroup, ""), "/");
  EXPECT_EQ(cgroup_path_of(kHybridCgroup, "memory"), "/jobs/42");
  EXPECT_EQ(cgroup_path_of(kHybridCgroup, "cpuacct"), "/");
  EXPECT_EQ(cgroup_path_of(kHybridCgroup, "pids"), std::nullopt);
  EXPECT_EQ(cgroup_path_of("0::/user.slice/a:b.scope\n", ""), "/user.slice/a:b.scope");
}

TEST(OomParsers, FindsCgroupMountsByTypeAndController) {
  auto v2 = find_cgroup_mount(kHybridMountinfo, "cgroup2", "");
  ASSERT_TRUE(v2.has_value());
  EXPECT_EQ(v2->mount_point, "/sys/fs/cgroup/unified");
  EXPECT_EQ(v2->root, "/");
  auto memory = find_cgroup_mount(kHybridMountinfo, "cgroup", "memory");
  ASSERT_TRUE(memory.has_value());
  EXPECT_EQ(memory->mount_point, "/sys/fs/cgroup/memory");
  EXPECT_EQ(find_cgroup_mount(kHybridMountinfo, "cgroup", "cpuacct")->mount_point,
            "/sys/fs/cgroup/cpu,cpuacct");
  EXPECT_EQ(find_cgroup_mount(kHybridMountinfo, "cgroup", "pids"), std::nullopt);
}

TEST(OomParsers, ReadsTheOomKillCounterOfMemoryEventsAndOomControl) {
  EXPECT_EQ(
      flat_keyed_value("low 0\nhigh 0\nmax 7\noom 3\noom_kill 2\noom_group_kill 0\n", "oom_kill"),
      2u);
  EXPECT_EQ(flat_keyed_value("oom_kill_disable 0\nunder_oom 0\noom_kill 5\n", "oom_kill"), 5u);
  EXPECT_EQ(flat_keyed_value("oom 3\n", "oom_kill"), std::nullopt);
  EXPECT_EQ(flat_keyed_value("oom_kill x\n", "oom_kill"), std::nullopt);
}

TEST(CgroupOomKillCount, DoesNotChangeWhenNothingWasKilled) {
  // Either this host exposes the counter or it does not; if it does, reading it twice with no
  // OOM kill between gives the same value (a kill elsewhere in our cgroup would be news).
  auto first = mproc::sys::cgroup_oom_kill_count();
  auto second = mproc::sys::cgroup_oom_kill_count();
  EXPECT_EQ(first.has_value(), second.has_value());
  if (first && second) {
    EXPECT_EQ(*first, *second);
  }
}

}  // namespace
