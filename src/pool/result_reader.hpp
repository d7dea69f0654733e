// The parent's reading of a worker's result ring: whole messages, reassembled from fragments,
// with every size checked against the bytes present. A worker is not trusted to be sane (a task
// may scribble on the channel before it dies): bytes that do not parse mark the reader corrupt,
// and the pool kills that worker; nothing is allocated beyond the bytes that actually arrived.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

#include "pool/channel.hpp"
#include "pool/ring.hpp"

namespace mproc::pool {

class ResultReader {
 public:
  // Calls on_message(kind, payload) for every complete message now in `ring` (payloads are valid
  // only during the call; on_message returns false if it found the message malformed).
  // Returns whether any record was read. Stops at the first sign of corruption.
  template <class OnMessage>
  bool read(Ring& ring, OnMessage&& on_message) {
    bool any = false;
    Ring::Record rec;
    while (!corrupt_) {
      const auto p = ring.peek(rec);
      if (p == Ring::Peek::kEmpty) break;
      if (p == Ring::Peek::kCorrupt) {
        corrupt_ = true;
        break;
      }
      any = true;
      if (rec.kind == kFragment) {
        collect(rec.payload, on_message);
      } else if (!on_message(rec.kind, rec.payload)) {
        corrupt_ = true;
      }
      ring.release(rec);
    }
    if (any) ring.flush();
    return any;
  }

  [[nodiscard]] bool corrupt() const noexcept { return corrupt_; }
  void mark_corrupt() noexcept { corrupt_ = true; }

 private:
  template <class OnMessage>
  void collect(std::span<const std::byte> p, OnMessage& on_message) {
    if (!in_fragment_) {
      FragmentHead h{};
      if (p.size() < sizeof h) {
        corrupt_ = true;
        return;
      }
      std::memcpy(&h, p.data(), sizeof h);
      if (h.kind == kFragment) {
        corrupt_ = true;
        return;
      }
      total_ = h.total;
      kind_ = h.kind;
      big_.clear();
      in_fragment_ = true;
      p = p.subspan(sizeof h);
    }
    if (p.size() > total_ - big_.size()) {
      corrupt_ = true;
      return;
    }
    big_.insert(big_.end(), p.begin(), p.end());
    if (big_.size() == total_) {
      in_fragment_ = false;
      std::vector<std::byte> msg = std::move(big_);
      big_ = {};
      if (!on_message(kind_, std::span<const std::byte>(msg))) corrupt_ = true;
    }
  }

  bool corrupt_ = false;
  bool in_fragment_ = false;
  std::uint64_t total_ = 0;
  std::uint32_t kind_ = 0;
  std::vector<std::byte> big_{};
};

}  // namespace mproc::pool
