// Whole files: the pool's replay files (PoolOptions::replay_dir, mproc/replay.hpp).
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <vector>

namespace mproc::sys {

// Creates `path` (O_CREAT | O_EXCL | O_CLOEXEC, mode `mode` before the umask) and writes `bytes`
// to it. Returns false if the file exists already; throws SystemError("open", "write", ...)
// for anything else (a partial file is removed).
[[nodiscard]] bool write_new_file(const std::string& path, std::span<const std::byte> bytes,
                                  unsigned mode);

// Makes directory `path` and its missing parents (mode 0700 for those made).
void make_directories(const std::string& path);

// The whole content of a regular file; SystemError("open"/"fstat"/"read"), or Error when it is
// not a regular file or larger than max_bytes.
[[nodiscard]] std::vector<std::byte> read_file(const std::string& path, std::size_t max_bytes);

}  // namespace mproc::sys
