#include "pool/replay_writer.hpp"

#include <cstdlib>
#include <string>

#include "mproc/replay.hpp"
#include "sys/file.hpp"
#include "sys/fork.hpp"

namespace mproc::pool {

std::filesystem::path replay_dir_of(const PoolOptions& options) {
  if (!options.replay_dir.empty()) return options.replay_dir;
  const char* env = std::getenv("MPROC_REPLAY_DIR");
  return env != nullptr ? std::filesystem::path(env) : std::filesystem::path();
}

std::filesystem::path save_replay(const std::filesystem::path& dir, const detail::Batch& b,
                                  const detail::Segment& seg, std::size_t item,
                                  std::uint64_t call) noexcept {
  try {
    if (dir.empty() || b.replay_types().kind == 0 || item >= seg.size()) return {};
    const std::size_t from = seg.begin_of(item);
    const std::size_t to = seg.stride != 0 ? from + seg.stride : seg.offsets[item + 1];
    const std::size_t index = seg.first_index + item;
    const auto bytes = detail::format_replay(
        b.replay_types(), index, b.closure(),
        std::span<const std::byte>(seg.bytes).subspan(from, to - from));
    sys::make_directories(dir.string());
    const std::string stem = "mproc-replay-" + std::to_string(sys::current_pid()) + "-" +
                             std::to_string(call) + "-" + std::to_string(index);
    // The same name again (a pid reused by a later run): the next free suffix.
    for (int n = 0; n < 100; ++n) {
      const std::filesystem::path path =
          dir / (stem + (n == 0 ? std::string() : "." + std::to_string(n)) + ".bin");
      if (sys::write_new_file(path.string(), bytes, 0600)) return path;
    }
  } catch (...) {
  }
  return {};
}

}  // namespace mproc::pool
