// Progress of a map-like call, as a progress callback sees it (PoolOptions::progress_callback).
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <optional>

namespace mproc {

struct Progress {
  std::size_t done = 0;    // items finished (ok or failed)
  std::size_t failed = 0;
  std::optional<std::size_t> total{};  // nullopt for an endless/unknown-length input
  std::chrono::duration<double> elapsed{};
  double rate = 0;  // items per second, smoothed
  std::optional<std::chrono::duration<double>> eta{};
};
using ProgressCallback = std::function<void(const Progress&)>;

}  // namespace mproc
