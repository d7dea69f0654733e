// The search for a memory cgroup base and the worker cgroups made under it, on fake directory
// trees (the real cgroup v1 path runs in tests/pool/memory_cgroup_test.cpp; cgroup v2 cannot be
// exercised for real on a host whose memory controller is bound to v1).
#include "sys/cgroup.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "mproc/error.hpp"

namespace {

namespace fs = std::filesystem;
using mproc::sys::CgroupHost;
using mproc::sys::CgroupVersion;
using mproc::sys::find_memory_cgroup_base;
using mproc::sys::MemoryCgroupBase;
using mproc::sys::MemoryCgroupTree;

// A fresh directory standing for "/", removed with everything in it.
class FakeRoot {
 public:
  FakeRoot() {
    std::string t = fs::temp_directory_path() / "mproc-cgroup-test-XXXXXX";
    if (::mkdtemp(t.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = t;
  }
  ~FakeRoot() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  FakeRoot(const FakeRoot&) = delete;
  FakeRoot& operator=(const FakeRoot&) = delete;
  [[nodiscard]] const std::string& path() const { return path_; }
  // Writes `text` to root/rel, making its directories.
  void file(const std::string& rel, const std::string& text) const {
    fs::path p = path_ + rel;
    fs::create_directories(p.parent_path());
    std::ofstream(p) << text;
  }
  [[nodiscard]] std::string read(const std::string& rel) const {
    std::ifstream in(path_ + rel);
    return {std::istreambuf_iterator<char>(in), {}};
  }

 private:
  std::string path_;
};

constexpr const char* kV2Mountinfo =
    "25 1 0:22 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime - cgroup2 cgroup2 rw\n";

// This host's layout: every controller on v1, memory in /process_api/<id>.
constexpr const char* kV1Mountinfo =
    "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
    "32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
    "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n";
constexpr const char* kV1Cgroup = "4:memory:/process_api/abc\n1:cpu:/\n0::/\n";

// A systemd-style delegated subtree: the program moved itself into <scope>/main, the scope
// (writable) enables memory for its children.
void make_delegated_v2(const FakeRoot& r, const std::string& subtree_control) {
  const std::string scope = "/sys/fs/cgroup/user.slice/app.scope";
  r.file(scope + "/cgroup.controllers", "cpu io memory pids\n");
  r.file(scope + "/cgroup.subtree_control", subtree_control);
  r.file(scope + "/cgroup.procs", "");
  r.file(scope + "/main/cgroup.controllers", "cpu memory pids\n");
  r.file(scope + "/main/cgroup.subtree_control", "");
  r.file(scope + "/main/cgroup.procs", "4242\n");
}

TEST(CgroupWords, FindsAControllerInASpaceSeparatedList) {
  EXPECT_TRUE(mproc::detail::has_word("cpu io memory pids\n", "memory"));
  EXPECT_TRUE(mproc::detail::has_word("memory", "memory"));
  EXPECT_FALSE(mproc::detail::has_word("cpu memory_x pids\n", "memory"));
  EXPECT_FALSE(mproc::detail::has_word("", "memory"));
}

TEST(CgroupBase, V2DelegatedSubtreeIsTheParentOfOurLeaf) {
  FakeRoot r;
  make_delegated_v2(r, "memory pids\n");
  auto base = find_memory_cgroup_base(
      CgroupHost{kV2Mountinfo, "0::/user.slice/app.scope/main\n", r.path()});
  ASSERT_TRUE(base.has_value());
  EXPECT_EQ(base->version, CgroupVersion::v2);
  EXPECT_EQ(base->dir, r.path() + "/sys/fs/cgroup/user.slice/app.scope");
}

TEST(CgroupBase, V2WithoutMemoryInTheParentsSubtreeControlIsNotABase) {
  FakeRoot r;
  make_delegated_v2(r, "pids\n");
  std::string why;
  auto base = find_memory_cgroup_base(
      CgroupHost{kV2Mountinfo, "0::/user.slice/app.scope/main\n", r.path()}, &why);
  EXPECT_FALSE(base.has_value());
  EXPECT_NE(why.find("subtree_control"), std::string::npos) << why;
}

TEST(CgroupBase, V2WithoutTheMemoryControllerIsNotABase) {
  FakeRoot r;
  make_delegated_v2(r, "memory\n");
  r.file("/sys/fs/cgroup/user.slice/app.scope/main/cgroup.controllers", "cpu pids\n");
  std::string why;
  EXPECT_FALSE(find_memory_cgroup_base(
                   CgroupHost{kV2Mountinfo, "0::/user.slice/app.scope/main\n", r.path()}, &why)
                   .has_value());
  EXPECT_NE(why.find("memory controller is not available"), std::string::npos) << why;
}

TEST(CgroupBase, V2InsideAPoolWorkersCgroupIsNotABase) {
  // A pool made in a pool's worker: its workers' cgroups beside the worker's would escape the
  // worker's limit.
  FakeRoot r;
  const std::string pool_dir = "/sys/fs/cgroup/app/mproc-77-0";
  r.file(pool_dir + "/cgroup.subtree_control", "+memory\n");
  r.file(pool_dir + "/cgroup.procs", "");
  r.file(pool_dir + "/w16/cgroup.controllers", "memory\n");
  r.file(pool_dir + "/w16/cgroup.subtree_control", "");
  std::string why;
  EXPECT_FALSE(
      find_memory_cgroup_base(CgroupHost{kV2Mountinfo, "0::/app/mproc-77-0/w16\n", r.path()}, &why)
          .has_value());
  EXPECT_NE(why.find("pool worker"), std::string::npos) << why;
}

TEST(CgroupBase, V2RootWithMemoryEnabledIsItsOwnBase) {
  FakeRoot r;
  r.file("/sys/fs/cgroup/cgroup.controllers", "cpu memory\n");
  r.file("/sys/fs/cgroup/cgroup.subtree_control", "cpu memory\n");
  r.file("/sys/fs/cgroup/cgroup.procs", "1\n");
  auto base = find_memory_cgroup_base(CgroupHost{kV2Mountinfo, "0::/\n", r.path()});
  ASSERT_TRUE(base.has_value());
  EXPECT_EQ(base->dir, r.path() + "/sys/fs/cgroup");
}

TEST(CgroupBase, V2TopOfTheMountWithoutMemoryEnabledIsNotABase) {
  // A container's namespace root with processes in it: the kernel would refuse +memory (EBUSY).
  FakeRoot r;
  r.file("/sys/fs/cgroup/cgroup.controllers", "cpu memory\n");
  r.file("/sys/fs/cgroup/cgroup.subtree_control", "");
  EXPECT_FALSE(find_memory_cgroup_base(CgroupHost{kV2Mountinfo, "0::/\n", r.path()}).has_value());
}

TEST(CgroupBase, V1MemoryCgroupIsTheBaseOnAV1Host) {
  FakeRoot r;
  r.file("/sys/fs/cgroup/memory/process_api/abc/memory.limit_in_bytes", "9223372036854771712\n");
  auto base = find_memory_cgroup_base(CgroupHost{kV1Mountinfo, kV1Cgroup, r.path()});
  ASSERT_TRUE(base.has_value());
  EXPECT_EQ(base->version, CgroupVersion::v1);
  EXPECT_EQ(base->dir, r.path() + "/sys/fs/cgroup/memory/process_api/abc");
}

TEST(CgroupBase, NothingWithoutCgroupMounts) {
  FakeRoot r;
  std::string why;
  EXPECT_FALSE(find_memory_cgroup_base(
                   CgroupHost{"22 1 0:5 / / rw - ext4 /dev/vda rw\n", "0::/\n", r.path()}, &why)
                   .has_value());
  EXPECT_NE(why.find("no cgroup v2"), std::string::npos) << why;
  EXPECT_NE(why.find("no cgroup v1"), std::string::npos) << why;
}

TEST(CgroupTree, V2TreeEnablesMemoryAndWritesTheWorkersLimit) {
  FakeRoot r;
  make_delegated_v2(r, "memory\n");
  const std::string scope = r.path() + "/sys/fs/cgroup/user.slice/app.scope";
  MemoryCgroupTree tree(MemoryCgroupBase{CgroupVersion::v2, scope}, 64u << 20);
  const std::string pool_dir = tree.dir().substr(r.path().size());
  EXPECT_TRUE(tree.dir().starts_with(scope + "/mproc-" + std::to_string(::getpid()) + "-"));
  EXPECT_EQ(r.read(pool_dir + "/cgroup.subtree_control"), "+memory");
  auto w = tree.make_worker("w16");
  EXPECT_EQ(w.procs_file(), tree.dir() + "/w16/cgroup.procs");
  EXPECT_EQ(r.read(pool_dir + "/w16/memory.max"), std::to_string(64u << 20));
  EXPECT_EQ(w.oom_kills(), std::nullopt);  // no memory.events (yet)
  r.file(pool_dir + "/w16/memory.events", "low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n");
  EXPECT_EQ(w.oom_kills(), 1u);
}

TEST(CgroupTree, V1TreeWritesTheLimitAndReadsOomControl) {
  FakeRoot r;
  const std::string own = "/sys/fs/cgroup/memory/process_api/abc";
  r.file(own + "/memory.limit_in_bytes", "9223372036854771712\n");
  MemoryCgroupTree tree(MemoryCgroupBase{CgroupVersion::v1, r.path() + own}, 5u << 20);
  const std::string pool_dir = tree.dir().substr(r.path().size());
  auto w = tree.make_worker("w3");
  EXPECT_EQ(r.read(pool_dir + "/w3/memory.limit_in_bytes"), std::to_string(5u << 20));
  r.file(pool_dir + "/w3/memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n");
  EXPECT_EQ(w.oom_kills(), 2u);
}

TEST(CgroupTree, AMissingBaseThrowsSystemErrorNamingMkdir) {
  FakeRoot r;
  try {
    MemoryCgroupTree tree(MemoryCgroupBase{CgroupVersion::v1, r.path() + "/nowhere"}, 1u << 20);
    FAIL() << "made " << tree.dir();
  } catch (const mproc::SystemError& e) {
    EXPECT_TRUE(e.call().starts_with("mkdir ")) << e.what();
    EXPECT_EQ(e.code(), std::errc::no_such_file_or_directory);
  }
}

TEST(CgroupTree, StaleDirectoriesOfDeadPoolsAreSwept) {
  FakeRoot r;
  const std::string own = "/sys/fs/cgroup/memory/process_api/abc";
  r.file(own + "/memory.limit_in_bytes", "max\n");
  // Directories only (a real cgroup's files go with rmdir): a dead pid's, and a live one's.
  fs::create_directories(r.path() + own + "/mproc-999999999-0/w16");
  const std::string live = "/mproc-" + std::to_string(::getppid()) + "-7";
  fs::create_directories(r.path() + own + live + "/w16");
  MemoryCgroupTree tree(MemoryCgroupBase{CgroupVersion::v1, r.path() + own}, 1u << 20);
  EXPECT_FALSE(fs::exists(r.path() + own + "/mproc-999999999-0"));
  EXPECT_TRUE(fs::exists(r.path() + own + live + "/w16"));
}

}  // namespace
