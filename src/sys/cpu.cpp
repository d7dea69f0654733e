#include "sys/cpu.hpp"

#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <cerrno>

#include "sys/check.hpp"
#include "sys/unique_fd.hpp"

namespace mproc::sys {

unsigned online_cpu_count() noexcept {
  long n = ::sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? static_cast<unsigned>(n) : 1u;
}

std::optional<unsigned> affinity_cpu_count() noexcept {
  // Start at glibc's default set size and grow: machines with more CPUs than CPU_SETSIZE exist.
  for (int ncpus = CPU_SETSIZE; ncpus <= (1 << 20); ncpus *= 2) {
    cpu_set_t* set = CPU_ALLOC(ncpus);
    if (set == nullptr) return std::nullopt;
    const std::size_t size = CPU_ALLOC_SIZE(ncpus);
    CPU_ZERO_S(size, set);
    if (::sched_getaffinity(0, size, set) == 0) {
      int count = CPU_COUNT_S(size, set);
      CPU_FREE(set);
      return count > 0 ? static_cast<unsigned>(count) : 1u;
    }
    int err = errno;
    CPU_FREE(set);
    if (err != EINVAL) return std::nullopt;
  }
  return std::nullopt;
}

std::optional<std::string> read_text_file(const std::string& path) noexcept {
  try {
    UniqueFd fd(retry_eintr([&] { return ::open(path.c_str(), O_RDONLY | O_CLOEXEC); }));
    if (!fd) return std::nullopt;
    std::string out;
    char buf[4096];
    for (;;) {
      ssize_t n = retry_eintr([&] { return ::read(fd.get(), buf, sizeof buf); });
      if (n < 0) return std::nullopt;
      if (n == 0) return out;
      out.append(buf, static_cast<std::size_t>(n));
      if (out.size() > (1u << 20)) return std::nullopt;  // not a small file
    }
  } catch (...) {  // std::bad_alloc
    return std::nullopt;
  }
}

}  // namespace mproc::sys
