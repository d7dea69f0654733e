// Helpers shared by the pipe tests: byte patterns, forged frame headers, raw writes.
#pragma once

#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "mproc/detail/connection_core.hpp"

namespace mproc::test {

// n bytes whose values depend on seed and position, so a misordered or shifted byte is caught.
inline std::vector<std::byte> pattern(std::size_t n, std::uint32_t seed) {
  std::vector<std::byte> v(n);
  std::uint32_t x = seed * 2654435761u + 1;
  for (auto& b : v) {
    x = x * 1664525u + 1013904223u;
    b = static_cast<std::byte>(x >> 24);
  }
  return v;
}

// A frame header as the protocol defines it (little-endian fields).
inline std::vector<std::byte> forged_header(std::uint64_t length,
                                            std::uint32_t magic = detail::ConnectionCore::kMagic,
                                            std::uint32_t flags = 0) {
  std::vector<std::byte> h(detail::ConnectionCore::kHeaderSize);
  for (int i = 0; i < 4; ++i) h[i] = static_cast<std::byte>(magic >> (8 * i));
  for (int i = 0; i < 4; ++i) h[4 + i] = static_cast<std::byte>(flags >> (8 * i));
  for (int i = 0; i < 8; ++i) h[8 + i] = static_cast<std::byte>(length >> (8 * i));
  return h;
}

// Writes all of bytes to fd (a test's stand-in for a rogue peer); false on failure.
inline bool raw_write(int fd, std::span<const std::byte> bytes) {
  while (!bytes.empty()) {
    ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0) return false;
    bytes = bytes.subspan(static_cast<std::size_t>(n));
  }
  return true;
}

}  // namespace mproc::test
