// Another executable linked with the same shared library: reads one remote call message on
// stdin, runs it, and prints "ok <library log>" or "<exception type>: <what>" on stdout.
#include <unistd.h>

#include <cstdio>
#include <vector>

#include "mproc/detail/remote_call.hpp"
#include "remote_lib.hpp"

int main() {
  std::vector<std::byte> message;
  std::byte buf[4096];
  for (;;) {
    const ssize_t n = ::read(0, buf, sizeof buf);
    if (n <= 0) break;
    message.insert(message.end(), buf, buf + n);
  }
  try {
    mproc::detail::run_remote_call(message);
    std::printf("ok %s", remote_lib::log().c_str());
  } catch (const mproc::DecodeError& e) {
    std::printf("DecodeError: %s", e.what());
  } catch (const mproc::Error& e) {
    std::printf("Error: %s", e.what());
  } catch (const std::exception& e) {
    std::printf("exception: %s", e.what());
  }
  return 0;
}
