// Test-only: give the calling process its own small /dev/shm, to fill it without touching the
// machine's (RELIABILITY.md C1). Call it in a forked child only: it changes the mount namespace
// of the whole process. Needs CAP_SYS_ADMIN (root in CI), else a user namespace.
#pragma once

#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace mproc::test {

namespace detail {
inline bool write_file(const char* path, const std::string& text) {
  const int fd = ::open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return false;
  const bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  ::close(fd);
  return ok;
}
}  // namespace detail

// Enters a new mount namespace (a new user namespace too when a plain one is refused), makes
// every mount private to it, and mounts a tmpfs of `size_bytes` on /dev/shm. Returns "" on
// success, else why not (for GTEST_SKIP).
inline std::string mount_private_dev_shm(std::size_t size_bytes) {
  if (::unshare(CLONE_NEWNS) != 0) {
    const std::string plain = std::strerror(errno);
    const uid_t uid = ::getuid();
    const gid_t gid = ::getgid();
    if (::unshare(CLONE_NEWUSER | CLONE_NEWNS) != 0) {
      return "unshare(CLONE_NEWNS): " + plain +
             "; unshare(CLONE_NEWUSER|CLONE_NEWNS): " + std::strerror(errno);
    }
    if (!detail::write_file("/proc/self/uid_map", "0 " + std::to_string(uid) + " 1") ||
        !detail::write_file("/proc/self/setgroups", "deny") ||
        !detail::write_file("/proc/self/gid_map", "0 " + std::to_string(gid) + " 1")) {
      return std::string("user namespace id maps: ") + std::strerror(errno);
    }
  }
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
    return std::string("mount(/, MS_REC|MS_PRIVATE): ") + std::strerror(errno);
  }
  const std::string options = "size=" + std::to_string(size_bytes) + ",mode=1777";
  if (::mount("tmpfs", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, options.c_str()) != 0) {
    return std::string("mount(tmpfs, /dev/shm): ") + std::strerror(errno);
  }
  return {};
}

}  // namespace mproc::test
