// mproc/progress.hpp — what a pool map reports about its progress: a bar on stderr, a callback.
//
//   mproc::Pool pool(mproc::PoolOptions{.progress = true});            // bar on stderr
//   mproc::Pool pool(mproc::PoolOptions{.progress_callback = [](const mproc::Progress& p) {
//     log("%zu/%zu, eta %.0fs", p.done, *p.total, p.eta ? p.eta->count() : -1.0); }});
//
// The bar follows tqdm's layout: ` 45%|████▌     | 45/100 [00:01<00:01, 30.10it/s]`, or
// `45it [00:01, 30.10it/s]` when the input's length is unknown. It is drawn by the parent only,
// at most every 0.1 s, on stderr, and only when stderr is a terminal (MPROC_PROGRESS=1 draws
// anyway, MPROC_PROGRESS=0 never draws). It is as wide as the terminal and uses `#` and digits
// instead of block characters when the locale (LC_ALL, LC_CTYPE, LANG) is not UTF-8.
//
// The callback runs in the thread that drives the map (the parent), at most every 0.1 s and once
// more at the end with the final counts; `done` never decreases between calls. An exception it
// throws propagates out of the map call, except from the final call, where it is dropped (the
// map is already over).
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <optional>

namespace mproc {

struct Progress {
  std::size_t done = 0;                     // items finished (ok or failed)
  std::size_t failed = 0;                   // of those, how many raised
  std::optional<std::size_t> total{};       // nullopt for an endless/unknown-length input
  std::chrono::duration<double> elapsed{};  // since the map started
  // Items per second, smoothed (tqdm's EMA, smoothing 0.3); 0 before the first item. In the final
  // call it is the overall average, done / elapsed.
  double rate = 0;
  // Time left at `rate`: nullopt while rate is 0 or total is unknown.
  std::optional<std::chrono::duration<double>> eta{};
};

using ProgressCallback = std::function<void(const Progress&)>;

}  // namespace mproc
