// Fuzzes what the pool's parent parses from a worker: the records of a result ring (headers,
// pads, fragments) and the messages in them. The input is laid raw into the ring as a hostile or
// crashed worker might have left it, with the producer position at its end; the reader must
// either parse messages or report corruption: never crash, read outside the ring, or allocate
// more than the bytes present.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "mproc/codec.hpp"
#include "pool/channel.hpp"
#include "pool/result_reader.hpp"

namespace {

bool handle(std::uint32_t kind, std::span<const std::byte> payload) {
  using namespace mproc::pool;
  try {
    switch (kind) {
      case kOk:
        (void)mproc::decode<std::vector<std::string>>(payload);
        return true;
      case kError:
      case kInitFailed:
        (void)mproc::decode<RemoteFailure>(payload);
        return true;
      case kChunkDone:
        return payload.size() == sizeof(ChunkDone);
      case kOkRun: {
        RunHeader h{};
        if (payload.size() < sizeof h) return false;
        std::memcpy(&h, payload.data(), sizeof h);
        return h.stride != 0 && payload.size() - sizeof h == std::size_t{h.count} * h.stride;
      }
      case kRetiring:
        return true;
      default:
        return false;
    }
  } catch (const mproc::DecodeError&) {
    return true;  // the pool turns it into the item's error
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static constexpr std::size_t kRing = 8192;
  mproc::pool::Channel channel(kRing);
  auto& ring = channel.results();
  // The first 8 bytes, if present, choose where the producer says it wrote (wrapped or not).
  std::uint64_t head = size;
  if (size >= 8) {
    std::memcpy(&head, data, 8);
    data += 8;
    size -= 8;
  }
  std::memcpy(ring.data(), data, std::min(size, kRing));
  ring.control().head.store(head, std::memory_order_release);
  mproc::pool::ResultReader reader;
  for (int round = 0; round < 4 && !reader.corrupt(); ++round) {
    if (!reader.read(ring, handle)) break;
  }
  return 0;
}
