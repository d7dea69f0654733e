// A raw pipe for tests: the child reports through it, the parent reads with a deadline.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <string>

namespace mproc::test {

class TestPipe {
 public:
  TestPipe() {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) == 0) {
      r = fds[0];
      w = fds[1];
    }
  }
  TestPipe(const TestPipe&) = delete;
  TestPipe& operator=(const TestPipe&) = delete;
  ~TestPipe() {
    close_read();
    close_write();
  }
  void close_read() {
    if (r >= 0) ::close(r);
    r = -1;
  }
  void close_write() {
    if (w >= 0) ::close(w);
    w = -1;
  }
  int r = -1;
  int w = -1;
};

// Writes all of s (for both parent and child; the child ignores errors).
inline bool write_str(int fd, const std::string& s) {
  std::size_t off = 0;
  while (off < s.size()) {
    ssize_t n = ::write(fd, s.data() + off, s.size() - off);
    if (n <= 0) return false;
    off += static_cast<std::size_t>(n);
  }
  return true;
}

inline bool write_byte(int fd, char c = 'x') { return ::write(fd, &c, 1) == 1; }

// Is fd readable (data or end of file) within timeout_ms?
inline bool readable_within(int fd, int timeout_ms) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, timeout_ms) == 1;
}

// Reads one byte; '\0' on end of file, error, or no byte within 10 s.
inline char read_byte(int fd) {
  if (!readable_within(fd, 10'000)) return '\0';
  char c = '\0';
  return ::read(fd, &c, 1) == 1 ? c : '\0';
}

// Reads until end of file (every writer closed), giving up after 10 s without data.
inline std::string read_all(int fd) {
  std::string out;
  char buf[4096];
  while (readable_within(fd, 10'000)) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  return out;
}

}  // namespace mproc::test
