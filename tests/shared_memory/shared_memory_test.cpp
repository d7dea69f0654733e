// SharedMemory: anonymous and named segments, across fork, and how creation fails.
#include "mproc/shared_memory.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>
#include <string_view>

#include "mproc/error.hpp"
#include "mproc/process.hpp"
#include "support/leak_check.hpp"

namespace {

using mproc::SharedMemory;
using mproc::test::shm_name;

bool dev_shm_has(const std::string& name) {
  struct stat st {};
  return ::stat(("/dev/shm" + name).c_str(), &st) == 0;
}

void write_text(const SharedMemory& shm, std::string_view text) {
  std::memcpy(shm.data(), text.data(), text.size());
}

std::string read_text(const SharedMemory& shm, std::size_t n) {
  return std::string(reinterpret_cast<const char*>(shm.data()), n);
}

// Throws the SystemError `call` throws and returns it, or fails the test.
template <class F>
mproc::SystemError system_error_of(F&& call) {
  try {
    call();
  } catch (const mproc::SystemError& e) {
    return e;
  }
  ADD_FAILURE() << "no SystemError";
  return mproc::SystemError("none", {});
}

TEST(SharedMemory, CreateGivesZeroedBytesOfTheAskedSize) {
  auto shm = SharedMemory::create(10000);
  EXPECT_EQ(shm.size(), 10000u);
  EXPECT_EQ(shm.bytes().size(), 10000u);
  EXPECT_EQ(shm.bytes().data(), shm.data());
  EXPECT_TRUE(std::all_of(shm.bytes().begin(), shm.bytes().end(),
                          [](std::byte b) { return b == std::byte{0}; }));
  EXPECT_FALSE(shm.is_named());
  EXPECT_EQ(shm.name(), "");
  shm.bytes()[9999] = std::byte{42};
  EXPECT_EQ(shm.bytes()[9999], std::byte{42});
  shm.unlink();  // anonymous: nothing to do
}

TEST(SharedMemory, ZeroSizeIsError) {
  EXPECT_THROW((void)SharedMemory::create(0), mproc::Error);
  EXPECT_THROW((void)SharedMemory::create(0, shm_name("zero")), mproc::Error);
  EXPECT_FALSE(dev_shm_has(shm_name("zero")));
}

TEST(SharedMemory, CopiesShareOneMapping) {
  auto a = SharedMemory::create(64);
  SharedMemory b = a;
  SharedMemory c = std::move(b);  // a moved-from handle stays valid
  EXPECT_EQ(b.data(), a.data());
  EXPECT_EQ(c.data(), a.data());
  write_text(c, "shared");
  EXPECT_EQ(read_text(a, 6), "shared");
}

TEST(SharedMemory, ChildProcessWritesParentReads) {
  auto shm = SharedMemory::create(4096);
  mproc::Process p([shm] { write_text(shm, "from the child"); });
  p.start();
  p.join();
  ASSERT_EQ(p.exitcode(), 0);
  EXPECT_EQ(read_text(shm, 14), "from the child");
}

TEST(SharedMemory, NamedSegmentIsAttachedInAChildThenUnlinked) {
  const std::string name = shm_name("attach");
  auto shm = SharedMemory::create(100, name);
  EXPECT_EQ(shm.name(), name);
  EXPECT_TRUE(shm.is_named());
  EXPECT_EQ(shm.size(), 100u);
  struct stat st {};
  ASSERT_EQ(::stat(("/dev/shm" + name).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(st.st_size, 100);

  // The child does not inherit the parent's mapping: it finds the segment by name.
  mproc::Process p([name] {
    auto seen = SharedMemory::attach(name);
    if (seen.size() != 100) throw std::runtime_error("wrong size");
    write_text(seen, "attached");
  });
  p.start();
  p.join();
  ASSERT_EQ(p.exitcode(), 0);
  EXPECT_EQ(read_text(shm, 8), "attached");

  shm.unlink();
  EXPECT_FALSE(dev_shm_has(name));
  EXPECT_EQ(read_text(shm, 8), "attached");  // still mapped here
  auto twice = system_error_of([&] { shm.unlink(); });
  EXPECT_EQ(twice.code().value(), ENOENT);
}

TEST(SharedMemory, NameWithoutSlashIsTheSameSegment) {
  const std::string name = shm_name("noslash");
  auto shm = SharedMemory::create(16, name.substr(1));
  EXPECT_TRUE(dev_shm_has(name));
  auto other = SharedMemory::attach(name);
  write_text(other, "x");
  EXPECT_EQ(read_text(shm, 1), "x");
  other.unlink();
  EXPECT_FALSE(dev_shm_has(name));
}

TEST(SharedMemory, CreateOfAnExistingNameIsError) {
  const std::string name = shm_name("exists");
  auto shm = SharedMemory::create(64, name);
  write_text(shm, "first");
  auto e = system_error_of([&] { (void)SharedMemory::create(64, name); });
  EXPECT_EQ(e.code().value(), EEXIST);
  EXPECT_NE(std::string(e.what()).find(name), std::string::npos) << e.what();
  EXPECT_EQ(read_text(shm, 5), "first");  // the existing segment is untouched
  shm.unlink();
}

TEST(SharedMemory, AttachOfAMissingNameIsErrorNamingIt) {
  const std::string name = shm_name("missing");
  auto e = system_error_of([&] { (void)SharedMemory::attach(name); });
  EXPECT_EQ(e.code().value(), ENOENT);
  EXPECT_NE(std::string(e.what()).find(name), std::string::npos) << e.what();
}

TEST(SharedMemory, InvalidNamesAreError) {
  EXPECT_THROW((void)SharedMemory::create(8, ""), mproc::Error);
  EXPECT_THROW((void)SharedMemory::create(8, "/"), mproc::Error);
  EXPECT_THROW((void)SharedMemory::create(8, shm_name("a/b")), mproc::Error);
  EXPECT_THROW((void)SharedMemory::create(8, std::string(300, 'x')), mproc::Error);
  EXPECT_THROW((void)SharedMemory::attach("a/b"), mproc::Error);
}

// More than /dev/shm can hold: create fails with ENOSPC at once (posix_fallocate), instead of
// handing out a mapping that would SIGBUS when touched, and leaves no entry behind.
TEST(SharedMemory, FullDevShmIsErrorAtCreateNotSigbus) {
  struct statvfs vfs {};
  ASSERT_EQ(::statvfs("/dev/shm", &vfs), 0);
  if (vfs.f_blocks == 0) GTEST_SKIP() << "/dev/shm has no size limit";
  // Beyond the file system's total size (not just its free space): tmpfs refuses that before
  // allocating a single page, so the test never fills the machine's memory.
  const std::size_t too_big =
      static_cast<std::size_t>(vfs.f_blocks) * vfs.f_frsize + (std::size_t{1} << 30);
  ASSERT_GT(too_big, static_cast<std::size_t>(vfs.f_bavail) * vfs.f_frsize);
  const std::string name = shm_name("full");
  auto e = system_error_of([&] { (void)SharedMemory::create(too_big, name); });
  EXPECT_EQ(e.code().value(), ENOSPC) << e.what();
  EXPECT_NE(std::string(e.what()).find("posix_fallocate"), std::string::npos) << e.what();
  EXPECT_FALSE(dev_shm_has(name));
}

}  // namespace
