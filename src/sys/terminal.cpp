#include "sys/terminal.hpp"

#include <sys/ioctl.h>
#include <unistd.h>

#include "sys/check.hpp"

namespace mproc::sys {

bool is_terminal(int fd) noexcept { return ::isatty(fd) == 1; }

std::optional<int> terminal_columns(int fd) noexcept {
  winsize ws{};
  if (retry_eintr([&] { return ::ioctl(fd, TIOCGWINSZ, &ws); }) == -1 || ws.ws_col == 0) {
    return std::nullopt;
  }
  return static_cast<int>(ws.ws_col);
}

}  // namespace mproc::sys
