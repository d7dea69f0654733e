#include "pool/channel.hpp"

#include <new>

namespace mproc::pool {
namespace {
constexpr std::size_t kPage = 4096;
constexpr std::size_t round_up(std::size_t n, std::size_t to) { return (n + to - 1) / to * to; }

struct Controls {
  RingControl tasks;
  RingControl results;
};
}  // namespace

Channel::Channel(std::size_t ring_bytes)
    : map_(round_up(sizeof(WorkerStatus) + sizeof(Controls), kPage) + 2 * ring_bytes) {
  auto* base = static_cast<std::byte*>(map_.data());
  status_ = new (base) WorkerStatus{};
  auto* controls = new (base + round_up(sizeof(WorkerStatus), kCacheLine)) Controls{};
  std::byte* data = base + round_up(sizeof(WorkerStatus) + sizeof(Controls), kPage);
  tasks_ = Ring(&controls->tasks, data, ring_bytes);
  results_ = Ring(&controls->results, data + ring_bytes, ring_bytes);
}

}  // namespace mproc::pool
