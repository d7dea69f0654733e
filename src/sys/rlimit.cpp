#include "sys/rlimit.hpp"

#include <sys/resource.h>

namespace mproc::sys {

bool raise_open_file_limit() noexcept {
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) != 0) return false;
  if (lim.rlim_cur >= lim.rlim_max) return true;
  lim.rlim_cur = lim.rlim_max;
  return ::setrlimit(RLIMIT_NOFILE, &lim) == 0;
}

}  // namespace mproc::sys
