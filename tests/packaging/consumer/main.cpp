// A user's program: the umbrella header and the mproc::mproc target are all it needs.
#include <mproc/mproc.hpp>

#include <cstdio>

int main() {
  try {
    mproc::detail::throw_errno("consumer", 0);
  } catch (const mproc::SystemError& e) {
    std::printf("consumer ok: %s\n", e.what());
  }
}
