// The work item of pool_map_work: work<US>(x) busy-waits US microseconds of wall time (0: just
// x * 2 + 1), and items(US) is how many items one map gets (~0.1 s of work for 2 workers; at
// most 100k). The plot in bench/plot.py reads these rows as throughput versus task duration.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>

namespace bench {

template <int US>
int work(int x) {
  if constexpr (US > 0) {
    const auto end = std::chrono::steady_clock::now() + std::chrono::microseconds(US);
    while (std::chrono::steady_clock::now() < end) {
    }
  }
  return x * 2 + 1;
}

constexpr std::size_t work_items(int us) {
  return us == 0 ? 100'000
                 : std::clamp<std::size_t>(200'000 / static_cast<std::size_t>(us), 200, 100'000);
}

}  // namespace bench
