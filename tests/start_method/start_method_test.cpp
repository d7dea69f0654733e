#include "mproc/start_method.hpp"

#include <gtest/gtest.h>
#include <sched.h>

#include <string>

#include "start_method/cpu_quota.hpp"

namespace {

using mproc::StartMethod;

TEST(StartMethod, DefaultIsFork) { EXPECT_EQ(mproc::get_start_method(), StartMethod::fork); }

TEST(StartMethod, SetAndGetRoundTrip) {
  for (auto m : {StartMethod::spawn, StartMethod::forkserver, StartMethod::fork}) {
    mproc::set_start_method(m);
    EXPECT_EQ(mproc::get_start_method(), m);
  }
}

TEST(StartMethod, ToStringNamesEachMethod) {
  EXPECT_STREQ(mproc::to_string(StartMethod::fork), "fork");
  EXPECT_STREQ(mproc::to_string(StartMethod::forkserver), "forkserver");
  EXPECT_STREQ(mproc::to_string(StartMethod::spawn), "spawn");
}

TEST(CpuCount, ProcessCpuCountIsBetweenOneAndCpuCount) {
  EXPECT_GE(mproc::cpu_count(), 1u);
  EXPECT_GE(mproc::process_cpu_count(), 1u);
  EXPECT_LE(mproc::process_cpu_count(), mproc::cpu_count());
}

TEST(CpuCount, ProcessCpuCountFollowsTheAffinityMask) {
  cpu_set_t old;
  ASSERT_EQ(::sched_getaffinity(0, sizeof old, &old), 0);
  int first = -1;
  for (int i = 0; i < CPU_SETSIZE && first < 0; ++i) {
    if (CPU_ISSET(i, &old)) first = i;
  }
  ASSERT_GE(first, 0);
  cpu_set_t one;
  CPU_ZERO(&one);
  CPU_SET(first, &one);
  ASSERT_EQ(::sched_setaffinity(0, sizeof one, &one), 0);
  const unsigned n = mproc::process_cpu_count();
  ::sched_setaffinity(0, sizeof old, &old);
  EXPECT_EQ(n, 1u);
}

TEST(CpuQuota, ParseCpuMaxRoundsUpAndHandlesNoLimit) {
  using mproc::detail::parse_cpu_max;
  EXPECT_EQ(parse_cpu_max("max 100000\n"), std::nullopt);
  EXPECT_EQ(parse_cpu_max("200000 100000\n"), 2u);
  EXPECT_EQ(parse_cpu_max("150000 100000"), 2u);
  EXPECT_EQ(parse_cpu_max("50000 100000"), 1u);
  EXPECT_EQ(parse_cpu_max("1000 100000"), 1u) << "never below one";
  EXPECT_EQ(parse_cpu_max(""), std::nullopt);
  EXPECT_EQ(parse_cpu_max("garbage"), std::nullopt);
  EXPECT_EQ(parse_cpu_max("100 0"), std::nullopt);
  EXPECT_EQ(parse_cpu_max("-5 100000"), std::nullopt);
}

TEST(CpuQuota, FindsTheCgroup2MountInMountinfo) {
  const std::string mountinfo =
      "22 28 0:21 / /sys rw,nosuid - sysfs sysfs rw\n"
      "30 22 0:26 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
      "31 22 0:27 / /sys/fs/cgroup/unified rw,nosuid shared:9 - cgroup2 cgroup2 rw,nsdelegate\n";
  auto m = mproc::detail::find_cgroup2_mount(mountinfo);
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->root, "/");
  EXPECT_EQ(m->mount_point, "/sys/fs/cgroup/unified");
  EXPECT_EQ(mproc::detail::find_cgroup2_mount("22 28 0:21 / /sys rw - sysfs sysfs rw\n"),
            std::nullopt);
}

TEST(CpuQuota, ReadsTheUnifiedPathFromProcSelfCgroup) {
  EXPECT_EQ(mproc::detail::cgroup2_path("4:memory:/x\n0::/user.slice/app.scope\n"),
            "/user.slice/app.scope");
  EXPECT_EQ(mproc::detail::cgroup2_path("4:memory:/x\n"), std::nullopt);
}

}  // namespace
