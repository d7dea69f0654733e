// The parent's half of PoolOptions::replay_dir: saving a failed item's input (mproc/replay.hpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>

#include "mproc/detail/pool_core.hpp"

namespace mproc::pool {

// The directory the options name: replay_dir, else MPROC_REPLAY_DIR, else empty (off).
[[nodiscard]] std::filesystem::path replay_dir_of(const PoolOptions& options);

// Saves item `item` (0-based in seg) of call `call` of batch b to a new file in dir (made if
// missing). Returns its path, or an empty path when the call's types are unknown or the file
// cannot be written: saving must never mask the item's own error.
[[nodiscard]] std::filesystem::path save_replay(const std::filesystem::path& dir,
                                                const detail::Batch& b,
                                                const detail::Segment& seg, std::size_t item,
                                                std::uint64_t call) noexcept;

}  // namespace mproc::pool
