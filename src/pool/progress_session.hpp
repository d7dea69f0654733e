// The progress display of one map-like call: the terminal bar and/or the user's callback, as
// PoolOptions asks. Used by the waiting thread only.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>

#include "mproc/detail/pool_core.hpp"

namespace mproc::pool {

class ProgressSession : public detail::PoolCore::Ticker {
 public:
  // nullptr when the options ask for no progress at all.
  static std::unique_ptr<ProgressSession> make(const PoolOptions& options,
                                               std::optional<std::size_t> total);
  // Whether a bar is drawn (then the pool ends it with a summary line).
  [[nodiscard]] virtual bool drawing() const noexcept { return false; }
  // After finish(): one more line under the bar (if drawing).
  virtual void summary(const std::string& /*line*/) noexcept {}
};

}  // namespace mproc::pool
