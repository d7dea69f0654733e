#include "sys/memory.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <utility>

#include "sys/check.hpp"
#include "sys/cpu.hpp"

namespace mproc::sys {

SharedMapping::SharedMapping(std::size_t size) : size_(size) {
  void* p = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) detail::throw_errno("mmap");
  data_ = p;
}

SharedMapping::SharedMapping(int fd, std::size_t size) : size_(size) {
  void* p = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (p == MAP_FAILED) detail::throw_errno("mmap");
  data_ = p;
}

SharedMapping::SharedMapping(SharedMapping&& o) noexcept
    : data_(std::exchange(o.data_, nullptr)), size_(std::exchange(o.size_, 0)) {}

SharedMapping& SharedMapping::operator=(SharedMapping&& o) noexcept {
  if (this != &o) {
    if (data_ != nullptr) ::munmap(data_, size_);
    data_ = std::exchange(o.data_, nullptr);
    size_ = std::exchange(o.size_, 0);
  }
  return *this;
}

SharedMapping::~SharedMapping() {
  if (data_ != nullptr) ::munmap(data_, size_);
}

namespace {
// The first two fields of /proc/self/statm text: total program size and resident set, in bytes.
std::optional<std::pair<std::size_t, std::size_t>> parse_statm(const char* text) noexcept {
  unsigned long long size = 0, resident = 0;
  if (std::sscanf(text, "%llu %llu", &size, &resident) != 2) return std::nullopt;
  const auto page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  return std::pair{static_cast<std::size_t>(size) * page,
                   static_cast<std::size_t>(resident) * page};
}

std::optional<std::pair<std::size_t, std::size_t>> statm() noexcept {
  auto text = read_text_file("/proc/self/statm");
  if (!text) return std::nullopt;
  return parse_statm(text->c_str());
}
}  // namespace

std::optional<std::size_t> resident_bytes() noexcept {
  auto s = statm();
  if (!s) return std::nullopt;
  return s->second;
}

std::optional<std::size_t> resident_bytes_of(int pid) noexcept {
  char path[64];
  std::snprintf(path, sizeof path, "/proc/%d/statm", pid);
  auto text = read_text_file(path);
  if (!text) return std::nullopt;
  auto s = parse_statm(text->c_str());
  if (!s) return std::nullopt;
  return s->second;
}

ResidentSet::ResidentSet() noexcept {
  const int fd = ::open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
  if (fd >= 0) fd_.reset(fd);
}

std::optional<std::size_t> ResidentSet::bytes() const noexcept {
  if (!fd_) return std::nullopt;
  char buf[128];
  ssize_t n;
  do {
    n = ::pread(fd_.get(), buf, sizeof buf - 1, 0);
  } while (n < 0 && errno == EINTR);
  if (n <= 0) return std::nullopt;
  buf[n] = '\0';
  const auto s = parse_statm(buf);
  if (!s) return std::nullopt;
  return s->second;
}

bool limit_address_space_growth(std::size_t extra) noexcept {
  auto s = statm();
  if (!s) return false;
  rlimit lim{};
  if (::getrlimit(RLIMIT_AS, &lim) != 0) return false;
  const auto want = static_cast<rlim_t>(s->first + extra);
  // The hard limit stays; the soft one cannot go above it.
  lim.rlim_cur = lim.rlim_max == RLIM_INFINITY ? want : std::min(want, lim.rlim_max);
  return ::setrlimit(RLIMIT_AS, &lim) == 0;
}

}  // namespace mproc::sys
