// Helpers for the queue tests: recognisable payloads and a one-shot cross-process flag.
#pragma once

#include <cstddef>
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
