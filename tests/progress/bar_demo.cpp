// Drives a ProgressBar over 100 items for about 1.5 s on stderr, as a pool map would; the tmux
// smoke test (bar_smoke.sh) runs it in a real terminal and reads the screen.
//   bar_demo [--pause-at N --go-file PATH]
// With --pause-at, the demo stops after N items, ticking the bar with unchanged counts (as a
// stalled map does), until PATH exists; the test creates it once it has seen the paused bar.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>

#include "pool/progress_bar.hpp"

int main(int argc, char** argv) {
  using namespace std::chrono_literals;
  std::size_t pause_at = 0;
  std::string go_file;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--pause-at") == 0) pause_at = std::strtoul(argv[i + 1], nullptr, 10);
    if (std::strcmp(argv[i], "--go-file") == 0) go_file = argv[i + 1];
  }
  mproc::detail::ProgressBarOptions opts;
  opts.enabled = true;
  mproc::detail::ProgressBar bar(std::move(opts), 100);
  if (!bar.drawing()) std::fprintf(stderr, "bar_demo: the bar does not draw here\n");
  bar.update(0, 0);
  for (std::size_t i = 1; i <= 100; ++i) {
    std::this_thread::sleep_for(15ms);  // the work of one item
    bar.update(i, 0);
    if (i == pause_at && !go_file.empty()) {
      const auto deadline = std::chrono::steady_clock::now() + 30s;
      while (::access(go_file.c_str(), F_OK) != 0) {
        if (std::chrono::steady_clock::now() > deadline) {
          bar.finish(false);
          std::fprintf(stderr, "bar_demo: %s did not appear within 30 s\n", go_file.c_str());
          return 3;
        }
        std::this_thread::sleep_for(10ms);
        bar.update(i, 0);
      }
    }
  }
  bar.finish(true);
  return 0;
}
