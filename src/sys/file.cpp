#include "sys/file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <string_view>

#include "sys/check.hpp"
#include "sys/unique_fd.hpp"
#include "sys/write.hpp"

namespace mproc::sys {

bool write_new_file(const std::string& path, std::span<const std::byte> bytes, unsigned mode) {
  const int fd = retry_eintr(
      [&] { return ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode); });
  if (fd < 0) {
    if (errno == EEXIST) return false;
    detail::throw_errno("open");
  }
  UniqueFd owner(fd);
  try {
    write_all(fd, std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
  } catch (...) {
    ::unlink(path.c_str());
    throw;
  }
  return true;
}

void make_directories(const std::string& path) {
  if (path.empty()) return;
  std::string prefix;
  std::size_t pos = 0;
  while (pos != std::string::npos) {
    pos = path.find('/', pos + 1);
    prefix = path.substr(0, pos);
    if (prefix.empty() || prefix == "/") continue;
    if (::mkdir(prefix.c_str(), 0700) != 0 && errno != EEXIST) detail::throw_errno("mkdir");
  }
}

std::vector<std::byte> read_file(const std::string& path, std::size_t max_bytes) {
  UniqueFd fd(call_unix("open", [&] { return ::open(path.c_str(), O_RDONLY | O_CLOEXEC); }));
  struct stat st {};
  check_unix(::fstat(fd.get(), &st), "fstat");
  if (!S_ISREG(st.st_mode)) throw Error(path + ": not a regular file");
  if (static_cast<std::uint64_t>(st.st_size) > max_bytes) {
    throw Error(path + ": " + std::to_string(st.st_size) + " bytes, over the limit of " +
                std::to_string(max_bytes));
  }
  std::vector<std::byte> out(static_cast<std::size_t>(st.st_size));
  std::size_t got = 0;
  // Read to the end (the file may have changed size since fstat: take what is there, bounded).
  for (;;) {
    if (got == out.size()) {
      if (out.size() >= max_bytes) break;
      out.resize(std::min(max_bytes, out.size() * 2 + 4096));
    }
    const ssize_t n = call_unix("read", [&] { return ::read(fd.get(), out.data() + got, out.size() - got); });
    if (n == 0) break;
    got += static_cast<std::size_t>(n);
  }
  out.resize(got);
  return out;
}

}  // namespace mproc::sys
