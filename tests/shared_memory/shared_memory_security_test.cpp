// SharedMemory's protections (RELIABILITY.md I1, I3): named segments are owner-only whatever the
// umask; anonymous (memfd) segments are sealed at their size, so no holder of the fd can shrink
// them under another process's mapping (SIGBUS) or grow them.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <optional>
#include <set>
#include <string>

#include "mproc/shared_memory.hpp"
#include "support/leak_check.hpp"
#include "support/proc_fds.hpp"

// Linux 6.3 (include/uapi/linux/fcntl.h); glibc's headers may predate it.
#ifndef F_SEAL_EXEC
#define F_SEAL_EXEC 0x0020
#endif

namespace {

using mproc::SharedMemory;
using mproc::test::shm_name;

// Sets the umask for one scope, then puts the old one back.
class ScopedUmask {
 public:
  explicit ScopedUmask(mode_t mask) : old_(::umask(mask)) {}
  ScopedUmask(const ScopedUmask&) = delete;
  ScopedUmask& operator=(const ScopedUmask&) = delete;
  ~ScopedUmask() { ::umask(old_); }

 private:
  mode_t old_;
};

mode_t dev_shm_mode(const std::string& name) {
  struct stat st {};
  if (::stat(("/dev/shm" + name).c_str(), &st) != 0) return 07777;  // no such entry
  return st.st_mode & 07777;
}

TEST(SharedMemorySecurity, NamedSegmentIsExactly0600UnderUmaskZero) {
  const std::string name = shm_name("umask0");
  std::optional<SharedMemory> shm;
  {
    ScopedUmask zero(0);
    shm = SharedMemory::create(4096, name);
  }
  EXPECT_EQ(dev_shm_mode(name), 0600u);
  // The fd itself says the same (fstat, not a second path lookup).
  struct stat st {};
  const int fd = ::open(("/dev/shm" + name).c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(::fstat(fd, &st), 0);
  ::close(fd);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  shm->unlink();
}

TEST(SharedMemorySecurity, NamedSegmentIs0600EvenWhenTheUmaskClearsOwnerBits) {
  const std::string name = shm_name("umask277");
  std::optional<SharedMemory> shm;
  {
    ScopedUmask strict(0277);  // would leave 0400: the owner could not write its own segment
    shm = SharedMemory::create(4096, name);
  }
  EXPECT_EQ(dev_shm_mode(name), 0600u);
  shm->unlink();
}

TEST(SharedMemorySecurity, AnonymousSegmentIsSealedAgainstResizing) {
  const auto before = mproc::test::fds_linked_to("/memfd:mproc-shm");
  auto shm = SharedMemory::create(3 * 4096);
  const auto after = mproc::test::fds_linked_to("/memfd:mproc-shm");
  ASSERT_EQ(after.size(), before.size() + 1) << "the segment's memfd is not in /proc/self/fd";
  int fd = -1;
  for (int f : after) {
    if (!before.count(f)) fd = f;
  }
  ASSERT_GE(fd, 0);

  const int seals = ::fcntl(fd, F_GET_SEALS);
  ASSERT_GE(seals, 0) << "F_GET_SEALS: " << std::strerror(errno);
  EXPECT_TRUE(seals & F_SEAL_SHRINK);
  EXPECT_TRUE(seals & F_SEAL_GROW);
  EXPECT_TRUE(seals & F_SEAL_SEAL);
  EXPECT_FALSE(seals & F_SEAL_WRITE);  // still writable: it is shared memory
  // MFD_NOEXEC_SEAL (Linux >= 6.3) adds F_SEAL_EXEC; older kernels fall back to no exec seal.
  utsname u{};
  ASSERT_EQ(::uname(&u), 0);
  int major = 0, minor = 0;
  ASSERT_EQ(std::sscanf(u.release, "%d.%d", &major, &minor), 2) << u.release;
  if (major > 6 || (major == 6 && minor >= 3)) {
    EXPECT_TRUE(seals & F_SEAL_EXEC) << u.release;
  }

  errno = 0;
  EXPECT_EQ(::ftruncate(fd, 4096), -1);
  EXPECT_EQ(errno, EPERM);
  errno = 0;
  EXPECT_EQ(::ftruncate(fd, 8 * 4096), -1);
  EXPECT_EQ(errno, EPERM);
  errno = 0;
  EXPECT_EQ(::fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE), -1);  // F_SEAL_SEAL: no further seals
  EXPECT_EQ(errno, EPERM);
  struct stat st {};
  ASSERT_EQ(::fstat(fd, &st), 0);
  EXPECT_EQ(st.st_size, 3 * 4096);
  EXPECT_EQ(st.st_mode & 0111, 0u);  // not executable

  // Still ordinary memory, to its last byte.
  shm.bytes()[3 * 4096 - 1] = std::byte{7};
  EXPECT_EQ(shm.bytes()[3 * 4096 - 1], std::byte{7});
}

}  // namespace
