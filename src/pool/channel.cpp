#include "pool/channel.hpp"

#include <new>
#include <string>
#include <utility>

#include "mproc/error.hpp"
#include "sys/shm.hpp"

namespace mproc::pool {
namespace {
constexpr std::size_t kPage = 4096;
constexpr std::size_t round_up(std::size_t n, std::size_t to) { return (n + to - 1) / to * to; }

struct Controls {
  RingControl tasks;
  RingControl results;
};

constexpr std::size_t header_bytes() {
  return round_up(sizeof(WorkerStatus) + sizeof(Controls), kPage);
}
constexpr std::size_t mapping_bytes(std::size_t ring_bytes) {
  return header_bytes() + 2 * ring_bytes;
}
}  // namespace

Channel::Channel(std::size_t ring_bytes, Memory memory) {
  if (memory == Memory::memfd) {
    fd_ = sys::memfd_of_size("mproc-pool-channel", mapping_bytes(ring_bytes));
    map_ = sys::SharedMapping(fd_.get(), mapping_bytes(ring_bytes));
  } else {
    map_ = sys::SharedMapping(mapping_bytes(ring_bytes));
  }
  lay_out(ring_bytes, true);
}

Channel::Channel(sys::UniqueFd memfd, std::size_t ring_bytes) {
  const std::size_t size = sys::file_size(memfd.get());
  if (size != mapping_bytes(ring_bytes)) {
    throw Error("mproc: a pool channel of " + std::to_string(size) + " bytes, expected " +
                std::to_string(mapping_bytes(ring_bytes)));
  }
  map_ = sys::SharedMapping(memfd.get(), size);
  lay_out(ring_bytes, false);
}

void Channel::lay_out(std::size_t ring_bytes, bool construct) {
  auto* base = static_cast<std::byte*>(map_.data());
  std::byte* controls_at = base + round_up(sizeof(WorkerStatus), kCacheLine);
  Controls* controls;
  if (construct) {
    status_ = new (base) WorkerStatus{};
    controls = new (controls_at) Controls{};
  } else {
    // The parent constructed them in this very memory (implicit-lifetime view of its objects).
    status_ = std::launder(reinterpret_cast<WorkerStatus*>(base));
    controls = std::launder(reinterpret_cast<Controls*>(controls_at));
  }
  std::byte* data = base + header_bytes();
  tasks_ = Ring(&controls->tasks, data, ring_bytes);
  results_ = Ring(&controls->results, data + ring_bytes, ring_bytes);
}

}  // namespace mproc::pool
