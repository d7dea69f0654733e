// memory_limit_bytes as a memory cgroup per worker, under every start method: where this host
// lets the pool make memory cgroups (here: a writable cgroup v1 memory cgroup), a task that
// touches more memory than the limit is OOM-killed by the kernel and reported as such for that
// item alone; the pool goes on; every worker cgroup is removed when its worker dies and with the
// pool. Skipped where no memory cgroup can be made (the RLIMIT_AS limit is tested in
// pool_failure_test.cpp).
#include <gtest/gtest.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstddef>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "mproc/mproc.hpp"
#include "pool_params.hpp"
#include "sys/cgroup.hpp"

namespace {

namespace fs = std::filesystem;
using mproc::MemoryLimitMode;
using mproc::Pool;
using mproc::PoolOptions;
using mproc::StartMethod;

constexpr std::size_t kLimit = std::size_t{128} << 20;  // room for a sanitizer's shadow

// Allocates `mib` MiB and touches every page (volatile: the compiler may not skip it).
int touch_mib(int mib) {
  const std::size_t n = static_cast<std::size_t>(mib) << 20;
  auto* p = static_cast<volatile char*>(std::malloc(n));
  if (p == nullptr) return -1;
  for (std::size_t i = 0; i < n; i += 4096) p[i] = 1;
  const int v = p[n / 2];
  std::free(const_cast<char*>(p));
  return v;
}

std::string own_cgroups(int) {
  std::ifstream in("/proc/self/cgroup");
  return {std::istreambuf_iterator<char>(in), {}};
}

// Where this process's pools make their cgroup directories, if anywhere.
std::optional<mproc::sys::MemoryCgroupBase> base() {
  return mproc::sys::find_memory_cgroup_base(mproc::sys::CgroupHost::current());
}

std::string our_prefix() { return "mproc-" + std::to_string(::getpid()) + "-"; }

// This process's pool directories under the base, and the worker cgroups in them.
struct Dirs {
  std::size_t pools = 0;
  std::size_t workers = 0;
};
Dirs our_dirs(const std::string& base_dir) {
  Dirs d;
  for (const auto& e : fs::directory_iterator(base_dir)) {
    if (!e.is_directory() || !e.path().filename().string().starts_with(our_prefix())) continue;
    ++d.pools;
    for (const auto& w : fs::directory_iterator(e.path())) d.workers += w.is_directory() ? 1 : 0;
  }
  return d;
}

class MemoryCgroup : public mproc::test::PoolParam {
 protected:
  void SetUp() override {
    base_ = base();
    if (!base_) GTEST_SKIP() << "this host lets this process make no memory cgroup";
    ASSERT_EQ(our_dirs(base_->dir).pools, 0u);
  }
  // Whatever a case did, no cgroup of ours is left once its pools are gone.
  void TearDown() override {
    if (base_) {
      EXPECT_EQ(our_dirs(base_->dir).pools, 0u);
    }
  }
  [[nodiscard]] PoolOptions limited(unsigned n) const {
    auto o = opts(n);
    o.memory_limit_bytes = kLimit;
    return o;
  }
  [[nodiscard]] MemoryLimitMode expected_mode() const {
    return base_->version == mproc::sys::CgroupVersion::v2 ? MemoryLimitMode::cgroup_v2
                                                           : MemoryLimitMode::cgroup_v1;
  }
  std::optional<mproc::sys::MemoryCgroupBase> base_;
};

TEST_P(MemoryCgroup, ModeSaysCgroupWhereTheHostLetsThePoolMakeThem) {
  Pool pool(limited(1));
  EXPECT_EQ(pool.memory_limit_mode(), expected_mode());
  EXPECT_EQ(our_dirs(base_->dir).pools, 1u);
}

TEST_P(MemoryCgroup, EachWorkerRunsInItsOwnCgroup) {
  Pool pool(limited(2));
  const auto texts = pool.map(own_cgroups, std::vector<int>(40, 0), 1);
  std::set<std::string> distinct;
  for (const auto& t : texts) {
    // v1: "4:memory:/.../mproc-<pid>-<n>/w<k>"; v2: "0::/.../mproc-<pid>-<n>/w<k>".
    const auto at = t.find("/" + our_prefix());
    ASSERT_NE(at, std::string::npos) << t;
    distinct.insert(t.substr(at, t.find('\n', at) - at));
  }
  EXPECT_EQ(distinct.size(), 2u);  // two workers, two cgroups
}

TEST_P(MemoryCgroup, AnAllocationPastTheLimitIsAnOomKillOfThatItemAlone) {
  Pool pool(limited(1));
  auto rs = pool.try_map(touch_mib, std::vector<int>{1, 512, 16});
  EXPECT_TRUE(rs[0].ok());
  ASSERT_FALSE(rs[1].ok());
  try {
    std::rethrow_exception(rs[1].error());
  } catch (const mproc::WorkerCrashed& e) {
    EXPECT_TRUE(e.oom_killed()) << e.what();
    EXPECT_EQ(e.signal(), SIGKILL) << e.what();
    EXPECT_EQ(e.index(), 1u);
    EXPECT_NE(std::string(e.what()).find("OOM killer"), std::string::npos) << e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "expected WorkerCrashed (OOM kill), got: " << e.what();
  }
  ASSERT_TRUE(rs[2].ok());  // a task under the limit, on the replacement
  EXPECT_EQ(rs[2].value(), 1);
  EXPECT_EQ(pool.apply(touch_mib, 32), 1);
}

TEST_P(MemoryCgroup, ADeadWorkersCgroupGoesWithIt) {
  Pool pool(limited(1));
  for (int i = 0; i < 4; ++i) EXPECT_THROW((void)pool.apply(touch_mib, 512), mproc::WorkerCrashed);
  EXPECT_EQ(pool.apply(touch_mib, 1), 1);
  // One live worker (and perhaps one retiring); the four killed ones' cgroups are gone.
  EXPECT_LE(our_dirs(base_->dir).workers, 2u);
}

TEST_P(MemoryCgroup, NoCgroupWhenTurnedOffOrWithoutALimit) {
  auto o = limited(1);
  o.memory_limit_cgroup = false;
  {
    Pool pool(o);
    EXPECT_EQ(pool.memory_limit_mode(), MemoryLimitMode::rlimit);
    EXPECT_EQ(pool.apply(touch_mib, 1), 1);
    EXPECT_EQ(our_dirs(base_->dir).pools, 0u);
  }
  Pool unlimited(opts(1));
  EXPECT_EQ(unlimited.memory_limit_mode(), MemoryLimitMode::none);
  EXPECT_EQ(our_dirs(base_->dir).pools, 0u);
}

// The app of CgroupsOfAKilledProgramAreSweptByTheNextPool: a limited pool, its workers' pids
// reported, then a wait to be killed.
TEST(MemoryCgroupApp, DISABLED_LimitedPoolThenPause) {
  PoolOptions o{.processes = 2, .start_method = mproc::test::App::start_method()};
  o.memory_limit_bytes = kLimit;
  Pool pool(o);
  mproc::test::App::report_pids(pool.worker_pids());
  for (;;) ::pause();
}

// A program killed by SIGKILL cannot remove its cgroups; the next pool made under the same base
// removes those of processes that are gone.
TEST_P(MemoryCgroup, CgroupsOfAKilledProgramAreSweptByTheNextPool) {
  mproc::test::App app("MemoryCgroupApp.DISABLED_LimitedPoolThenPause",
                       {{"MPROC_POOL_APP_METHOD", std::string(mproc::to_string(GetParam()))}});
  const std::string app_prefix = "mproc-" + std::to_string(app.pid()) + "-";
  auto app_dirs = [&] {
    std::size_t k = 0;
    for (const auto& e : fs::directory_iterator(base_->dir)) {
      k += e.path().filename().string().starts_with(app_prefix) ? 1 : 0;
    }
    return k;
  };
  const std::vector<int> pids = app.read_pids();
  ASSERT_EQ(pids.size(), 2u);
  std::vector<int> pidfds;
  for (int p : pids) pidfds.push_back(static_cast<int>(::syscall(SYS_pidfd_open, p, 0)));
  ASSERT_EQ(::kill(app.pid(), SIGKILL), 0);
  (void)app.wait();
  for (std::size_t i = 0; i < pidfds.size(); ++i) {
    ASSERT_GE(pidfds[i], 0);
    pollfd pfd{pidfds[i], POLLIN, 0};
    EXPECT_EQ(::poll(&pfd, 1, 5000), 1) << "worker " << pids[i] << " outlived its parent";
    ::close(pidfds[i]);
    ::waitpid(pids[i], nullptr, 0);  // we are the subreaper: the orphan is ours to reap
  }
  // Left behind, unless a pool of another test running at the same time (ctest -j) swept it
  // already: what matters is that none is left once the next pool exists.
  EXPECT_LE(app_dirs(), 1u);
  {
    Pool pool(limited(1));
    EXPECT_EQ(app_dirs(), 0u);
  }
}

MPROC_ALL_START_METHODS(MemoryCgroup);

// The kernel refusing: in a child with its own mount namespace, our memory cgroup bind-mounted
// read-only over itself (EROFS), a pool falls back to the rlimit and says so. (Fork only: the
// test's forkserver serves the test process, not this child.)
TEST(MemoryCgroupRefused, AReadOnlyCgroupMeansTheRlimit) {
  const auto b = base();
  if (!b) GTEST_SKIP() << "this host lets this process make no memory cgroup";
  const std::string dir = b->dir;
  mproc::Process p(mproc::ProcessOptions{.start_method = StartMethod::fork}, [dir] {
    if (::unshare(CLONE_NEWNS) != 0 ||
        ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0 ||
        ::mount(dir.c_str(), dir.c_str(), nullptr, MS_BIND, nullptr) != 0 ||
        ::mount(nullptr, dir.c_str(), nullptr, MS_BIND | MS_REMOUNT | MS_RDONLY, nullptr) != 0) {
      ::_exit(77);  // no CAP_SYS_ADMIN here
    }
    PoolOptions o{.processes = 1, .start_method = StartMethod::fork};
    o.memory_limit_bytes = kLimit;
    Pool pool(o);
    if (pool.memory_limit_mode() != MemoryLimitMode::rlimit) {
      throw std::runtime_error(std::string("mode ") + mproc::to_string(pool.memory_limit_mode()));
    }
    if (pool.apply(touch_mib, 1) != 1) throw std::runtime_error("the task failed");
  });
  p.start();
  p.join();
  if (p.exitcode() == 77) GTEST_SKIP() << "cannot make a mount namespace here";
  EXPECT_EQ(p.exitcode(), 0);
  EXPECT_EQ(our_dirs(dir).pools, 0u);
}

}  // namespace
