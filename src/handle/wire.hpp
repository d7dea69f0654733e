// The bytes of an exported handle (mproc/detail/handle.hpp) and the checks on import.
//
// Layout, little-endian: u32 magic "mpH1", u32 HandleKind, u32 count of fds, u32 zero; then the
// kind's fields, each a u64 or a text (u64 length, then the bytes). Both ends run the same
// build, so there is one version; anything else is refused.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "mproc/detail/handle.hpp"
#include "mproc/shared_memory.hpp"
#include "sys/unique_fd.hpp"

namespace mproc::detail {

class HandleWriter {
 public:
  explicit HandleWriter(HandleKind kind);
  HandleWriter& u64(std::uint64_t v);
  HandleWriter& text(std::string_view s);
  HandleWriter& fd(int fd);  // borrowed
  // The segment's fd and its size (a u64).
  HandleWriter& memory(const SharedMemory& memory);
  [[nodiscard]] ExportedHandle finish();

 private:
  HandleKind kind_;
  std::vector<std::byte> fields_;
  std::vector<int> fds_;
};

class HandleReader {
 public:
  // Takes every fd of `fds` (closed when the reader goes, unless taken). Error naming `type`
  // when the bytes are not a handle of `kind` or the fd count differs from the exported one.
  HandleReader(std::span<const std::byte> bytes, std::span<UniqueFd> fds, HandleKind kind,
               const char* type);
  [[nodiscard]] std::uint64_t u64();
  [[nodiscard]] std::string text();
  [[nodiscard]] UniqueFd fd();
  // What HandleWriter::memory wrote: the next fd mapped, checked by ShmAccess::adopt. An
  // anonymous segment (name empty) must be a sealed memfd; `expected_size`, when not 0, must be
  // the size written.
  [[nodiscard]] SharedMemory memory(std::size_t expected_size = 0, std::string name = {});
  // Error when bytes or fds are left over.
  void finish() const;
  [[noreturn]] void fail(const std::string& problem) const;
  [[nodiscard]] const std::string& what() const noexcept { return what_; }

 private:
  std::span<const std::byte> bytes_;
  std::size_t pos_ = 0;
  std::vector<UniqueFd> fds_;
  std::size_t next_fd_ = 0;
  std::string what_;  // "import_handle<Lock>"
};

// Error "export_handle<type>: problem".
[[noreturn]] void export_error(const char* type, const std::string& problem);

}  // namespace mproc::detail
