// SharedMemory when memory runs out (RELIABILITY.md C1, C2): create() fails with a SystemError
// naming the call, the process lives on (no SIGBUS on a later touch), nothing is left behind.
// The full /dev/shm is a 64 KiB tmpfs in a private mount namespace of a forked child, so the
// machine's /dev/shm is never filled.
#include <dirent.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>
#include <string>

#include "mproc/error.hpp"
#include "mproc/shared_memory.hpp"
#include "process/test_pipe.hpp"
#include "support/child_guard.hpp"
#include "support/leak_check.hpp"
#include "support/private_dev_shm.hpp"
#include "support/proc_fds.hpp"

namespace {

using mproc::SharedMemory;
using mproc::test::shm_name;

std::set<std::string> dev_shm_listing() {
  std::set<std::string> out;
  if (DIR* d = ::opendir("/dev/shm")) {
    while (dirent* e = ::readdir(d)) {
      if (e->d_name[0] != '.') out.insert(e->d_name);
    }
    ::closedir(d);
  }
  return out;
}

std::string join(const std::set<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : " ") + n;
  return "{" + out + "}";
}

// "" when create(size, name) throws SystemError(ENOSPC) from posix_fallocate; else what happened.
std::string expect_enospc(std::size_t size, const std::string& name) {
  try {
    auto shm = SharedMemory::create(size, name);
    return "create(" + std::to_string(size) + ") succeeded; ";
  } catch (const mproc::SystemError& e) {
    std::string out;
    if (e.code().value() != ENOSPC) out += std::string("wrong code: ") + e.what() + "; ";
    if (std::string(e.what()).find("posix_fallocate") == std::string::npos ||
        std::string(e.what()).find(name) == std::string::npos) {
      out += std::string("what() names neither the call nor the segment: ") + e.what() + "; ";
    }
    return out;
  } catch (const std::exception& e) {
    return std::string("not a SystemError: ") + e.what() + "; ";
  }
}

// Runs body in a forked child that has its own /dev/shm of `dev_shm_bytes`. body returns "" on
// success or the failures it saw. The child must exit normally (a SIGBUS fails the test).
void in_private_dev_shm(std::size_t dev_shm_bytes, const std::function<std::string()>& body) {
  mproc::test::TestPipe report;
  mproc::test::ChildGuard guard;
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0) << std::strerror(errno);
  if (pid == 0) {
    report.close_read();
    std::string out = mproc::test::mount_private_dev_shm(dev_shm_bytes);
    if (!out.empty()) {
      out = "SKIP " + out;
    } else {
      try {
        out = body();
        out = out.empty() ? "OK" : "FAIL " + out;
      } catch (const std::exception& e) {
        out = std::string("FAIL uncaught: ") + e.what();
      }
    }
    (void)mproc::test::write_str(report.w, out);
    ::_exit(0);
  }
  guard.adopt(pid);
  report.close_write();
  const std::string out = mproc::test::read_all(report.r);
  const int status = guard.reap(pid);
  ASSERT_TRUE(WIFEXITED(status)) << "child killed by signal "
                                 << (WIFSIGNALED(status) ? WTERMSIG(status) : 0) << " (SIGBUS is "
                                 << SIGBUS << "); it said: " << out;
  if (out.starts_with("SKIP ")) GTEST_SKIP() << "no private /dev/shm: " << out.substr(5);
  EXPECT_EQ(out, "OK");
}

TEST(SharedMemoryExhaustion, OneMiBOnA64KiBDevShmIsEnospcAtCreateWithNoEntryLeft) {
  in_private_dev_shm(64 << 10, [] {
    std::string fail;
    const auto before = dev_shm_listing();
    const std::string name = shm_name("c1");
    fail += expect_enospc(1 << 20, name);
    const auto after = dev_shm_listing();
    if (after != before) fail += "/dev/shm changed: " + join(before) + " -> " + join(after) + "; ";
    // Anonymous segments are memfds, not /dev/shm files: a full /dev/shm does not limit them.
    auto anon = SharedMemory::create(1 << 20);
    for (auto& b : anon.bytes()) b = std::byte{1};
    return fail;
  });
}

TEST(SharedMemoryExhaustion, FillingDevShmFailsTheNextCreateAndKeepsTheFirstIntact) {
  in_private_dev_shm(64 << 10, [] {
    std::string fail;
    const std::string first = shm_name("fill-a");
    const std::string second = shm_name("fill-b");
    {
      auto a = SharedMemory::create(40 << 10, first);
      std::memset(a.data(), 0x5a, a.size());
      // posix_fallocate gets part of the way (24 KiB are free), then runs out: the pages it took
      // are given back and the new name is removed.
      fail += expect_enospc(40 << 10, second);
      const auto listing = dev_shm_listing();
      if (listing != std::set<std::string>{first.substr(1)}) {
        fail += "after the failed create /dev/shm holds " + join(listing) + "; ";
      }
      for (std::size_t i = 0; i < a.size(); ++i) {
        if (a.data()[i] != std::byte{0x5a}) {
          fail += "the first segment changed at byte " + std::to_string(i) + "; ";
          break;
        }
      }
      a.unlink();  // its pages go back with its last mapping, at the end of this scope
    }
    // The space came back: the same create now succeeds.
    auto b = SharedMemory::create(40 << 10, second);
    std::memset(b.data(), 0x11, b.size());
    b.unlink();
    if (!dev_shm_listing().empty()) fail += "entries left: " + join(dev_shm_listing()) + "; ";
    return fail;
  });
}

// An anonymous segment larger than the address space fails at create with a SystemError (the
// mmap), leaving no fd behind (the harness checks).
TEST(SharedMemoryExhaustion, AnonymousSegmentBeyondTheAddressSpaceIsSystemError) {
  try {
    auto shm = SharedMemory::create(std::size_t{1} << 62);
    ADD_FAILURE() << "created 4 EiB";
  } catch (const mproc::SystemError& e) {
    EXPECT_EQ(e.code().value(), ENOMEM) << e.what();
  }
}

// An anonymous segment larger than the machine's memory is created: a memfd commits pages only
// when touched (as Python's, and unlike a named segment, which posix_fallocate reserves). So it
// does not fail at create; touching more than memory allows would meet the OOM killer. Reserving
// up front would not help: the memfd file system has no size limit, so a fallocate past memory
// ends in the OOM killer too (possibly of another process) rather than ENOSPC.
TEST(SharedMemoryExhaustion, AnonymousSegmentLargerThanMemoryIsCreatedWithoutCommittingIt) {
#if defined(__SANITIZE_THREAD__)
  GTEST_SKIP() << "ThreadSanitizer keeps shadow state for every mapping";
#endif
  std::ifstream meminfo("/proc/meminfo");
  std::string key;
  std::size_t kib = 0;
  while (meminfo >> key >> kib && key != "MemTotal:") meminfo.ignore(256, '\n');
  ASSERT_EQ(key, "MemTotal:");
  const std::size_t size = 2 * kib * 1024;
  const std::size_t rss = mproc::test::resident_bytes();
  auto shm = SharedMemory::create(size);
  EXPECT_EQ(shm.size(), size);
  shm.data()[size - 1] = std::byte{1};  // one page of it, at the far end
  EXPECT_LT(mproc::test::resident_bytes(), rss + (16u << 20));
}

// C2: a memfd larger than the cgroup v2 memory.max. Needs a cgroup v2 hierarchy with the memory
// controller that this process may create a child cgroup in.
std::string cgroup_v2_memory_dir() {
  std::ifstream mountinfo("/proc/self/mountinfo");
  std::string line, mount_point;
  while (std::getline(mountinfo, line)) {
    if (line.find(" - cgroup2 ") == std::string::npos) continue;
    std::istringstream fields(line);
    std::string id, parent, dev, root;
    fields >> id >> parent >> dev >> root >> mount_point;
    break;
  }
  if (mount_point.empty()) return {};
  std::ifstream cgroup("/proc/self/cgroup");
  std::string path;
  while (std::getline(cgroup, line)) {
    if (line.starts_with("0::")) path = line.substr(3);
  }
  return mount_point + (path == "/" ? "" : path);
}

TEST(SharedMemoryExhaustion, AnonymousSegmentBeyondTheCgroupMemoryLimit) {
  const std::string dir = cgroup_v2_memory_dir();
  if (dir.empty()) GTEST_SKIP() << "no cgroup v2 hierarchy mounted";
  std::ifstream controllers_file(dir + "/cgroup.controllers");
  std::string controllers;
  std::getline(controllers_file, controllers);
  if (controllers.find("memory") == std::string::npos) {
    GTEST_SKIP() << "cgroup v2 at " << dir << " has no memory controller (controllers: \""
                 << controllers << "\"; memory is probably on cgroup v1): no delegation to test";
  }
  // A writable delegation exists: this case (memory.max below the segment, then create) is not
  // written yet, since no machine at hand has one to run it on. Skip rather than pretend.
  GTEST_SKIP() << "cgroup v2 memory controller present at " << dir
               << " but the C2 body is not implemented (no machine to verify it on)";
}

}  // namespace
