// Fuzzes what a Queue's consumer parses from the shared ring that producers write: record
// headers, pads, streamed chunks and the items in them. The input is laid raw into the ring as a
// hostile or crashed producer might have left it, with both positions chosen by the input; the
// consumer must deliver items, time out, or report corruption: never crash, read outside the ring,
// hang, or allocate more than max_message_size.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "mproc/codec.hpp"
#include "mproc/detail/queue_core.hpp"
#include "mproc/error.hpp"
#include "queue/queue_layout.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace mproc;
  constexpr std::size_t kRing = 64 << 10;
  detail::QueueCore core(QueueOptions{.capacity_bytes = kRing, .max_message_size = 1 << 20});
  const auto view = core.test_view();
  auto& c = *static_cast<queue::QueueControl*>(view.control);
  // The first 16 bytes, if present, are the consumers' and producers' positions.
  std::uint64_t head = 0, tail = size;
  if (size >= 16) {
    std::memcpy(&head, data, 8);
    std::memcpy(&tail, data + 8, 8);
    data += 16;
    size -= 16;
  }
  c.r.pos.store(head);
  c.w.pos.store(tail);
  // Ring bytes from the consumers' position on (wrapping), so records line up with it.
  for (std::size_t i = 0; i < size && i < kRing; ++i) {
    view.ring[(head + i) & (kRing - 1)] = static_cast<std::byte>(data[i]);
  }
  for (int n = 0; n < 64; ++n) {
    try {
      auto take = [](std::span<const std::byte> bytes) {
        (void)decode<std::vector<std::string>>(bytes);
      };
      if (!core.get(take, std::chrono::steady_clock::now())) break;  // nothing more published
    } catch (const DecodeError&) {
      // an item that is not a std::vector<std::string>: consumed, go on
    } catch (const Error&) {
      break;  // the ring is corrupt: every later get says so
    }
  }
  return 0;
}
