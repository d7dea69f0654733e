// What /proc says about this process, for tests that count resources: open fds (and what they
// point at), /dev/shm entries, resident memory. Header-only, test-only.
#pragma once

#include <dirent.h>
#include <unistd.h>

#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <set>
#include <string>
#include <string_view>

namespace mproc::test {

// The fds of this process whose /proc/self/fd link starts with `target_prefix` (e.g.
// "/memfd:mproc-shm" for an mproc memfd); every fd when the prefix is empty.
inline std::set<int> fds_linked_to(std::string_view target_prefix = {}) {
  std::set<int> out;
  DIR* d = ::opendir("/proc/self/fd");
  if (!d) return out;
  const int own = ::dirfd(d);
  while (dirent* e = ::readdir(d)) {
    if (e->d_name[0] == '.') continue;
    const int fd = std::atoi(e->d_name);
    if (fd == own) continue;
    char target[512] = {};
    const std::string link = std::string("/proc/self/fd/") + e->d_name;
    const ssize_t n = ::readlink(link.c_str(), target, sizeof target - 1);
    if (n < 0) continue;
    if (std::string_view(target, static_cast<std::size_t>(n)).starts_with(target_prefix)) {
      out.insert(fd);
    }
  }
  ::closedir(d);
  return out;
}

inline std::size_t fd_count() { return fds_linked_to().size(); }

// Entries of a directory whose names start with `prefix` (dot files never count): /dev/shm
// entries of this test binary with prefix shm_prefix().
inline std::size_t entries_in(const char* dir, std::string_view prefix = {}) {
  std::size_t n = 0;
  if (DIR* d = ::opendir(dir)) {
    while (dirent* e = ::readdir(d)) {
      n += e->d_name[0] != '.' && std::string_view(e->d_name).starts_with(prefix);
    }
    ::closedir(d);
  }
  return n;
}

// Resident set size in bytes (/proc/self/statm), 0 when unreadable.
inline std::size_t resident_bytes() {
  std::FILE* f = std::fopen("/proc/self/statm", "r");
  if (!f) return 0;
  unsigned long size = 0, resident = 0;
  const int got = std::fscanf(f, "%lu %lu", &size, &resident);
  std::fclose(f);
  return got == 2 ? resident * static_cast<std::size_t>(::sysconf(_SC_PAGESIZE)) : 0;
}

// The parent of process `pid` (/proc/<pid>/stat), 0 when it is gone or unreadable.
inline int parent_pid_of(int pid) {
  char path[64];
  std::snprintf(path, sizeof path, "/proc/%d/stat", pid);
  std::FILE* f = std::fopen(path, "r");
  if (!f) return 0;
  char line[1024] = {};
  const bool got = std::fgets(line, sizeof line, f) != nullptr;
  std::fclose(f);
  // "pid (comm) state ppid ...": comm may hold spaces and parentheses; the last ')' ends it.
  const char* paren = got ? std::strrchr(line, ')') : nullptr;
  return paren != nullptr ? std::atoi(paren + 4) : 0;
}

}  // namespace mproc::test
