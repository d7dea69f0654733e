// Helpers for the queue tests: recognisable payloads and a one-shot cross-process flag.
#pragma once

#include <cstddef>
#include <fstream>
#include <string>
#include <cstdint>
#include <chrono>
#include <stdexcept>
#include <vector>

#include "mproc/event.hpp"

namespace mproc::test {

// n bytes that depend on their position and on seed: a reordered, dropped or torn chunk shows.
inline std::vector<std::uint8_t> pattern(std::size_t n, std::uint32_t seed) {
  std::vector<std::uint8_t> v(n);
  std::uint32_t x = seed * 2654435761u + 1;
  for (auto& b : v) {
    x = x * 1664525u + 1013904223u;
    b = static_cast<std::uint8_t>(x >> 24);
  }
  return v;
}

// The state letter of /proc/<pid>/stat ('R', 'S', 'T' stopped, 'Z', ...), or '?' when unreadable.
inline char process_state(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  std::getline(in, line);
  const auto paren = line.rfind(')');
  return paren == std::string::npos || paren + 2 >= line.size() ? '?' : line[paren + 2];
}

// "I am about to block": set by a child, awaited by the parent (with a deadline that fails the
// test instead of hanging it).
class Flag {
 public:
  void set() { ev_.set(); }
  void wait() {
    if (!ev_.wait(std::chrono::seconds(30))) throw std::runtime_error("Flag: not set in 30 s");
  }

 private:
  mproc::Event ev_;
};

}  // namespace mproc::test
