// Fuzzes what a Connection parses from its peer: frame headers and payloads, then the codec on
// the payload. The input is written raw into one end of a Pipe (as a hostile or broken peer
// would), which is then closed; the other end receives until it reports an error. Anything but a
// clean value, EOFError, DecodeError or mproc::Error (a broken stream) is a bug.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "mproc/pipe.hpp"

namespace {

using Value = std::map<std::string, std::vector<int>>;

template <class T>
void drain(mproc::Connection<T>& rx) {
  for (int i = 0; i < 64; ++i) {  // an input of at most 4 KiB holds fewer frames than this
    try {
      if constexpr (std::is_same_v<T, std::vector<std::byte>>) {
        (void)rx.recv_bytes();
      } else {
        (void)rx.recv();
      }
    } catch (const mproc::EOFError&) {
      return;
    } catch (const mproc::DecodeError&) {
      // a typed decode failure consumes its frame; a bad header breaks the stream (next recv
      // then throws mproc::Error)
    } catch (const mproc::Error&) {
      return;
    }
  }
}

template <class T>
void feed(const std::uint8_t* data, std::size_t size) {
  // A small maximum, so that the over-limit path is reachable with small inputs.
  auto [rx, tx] = mproc::Pipe<T>(mproc::PipeOptions{.duplex = true, .max_message_size = 1024});
  // At most 4 KiB (fuzz/run's -max_len): fits in the socket buffer, so this never blocks.
  if (size > 0 && ::write(tx.fileno(), data, size) != static_cast<ssize_t>(size)) std::abort();
  tx.close();
  drain(rx);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0 || size > 4096) return 0;
  // The first byte picks raw bytes or a typed connection; the rest is what the peer sent.
  if (data[0] & 1) {
    feed<Value>(data + 1, size - 1);
  } else {
    feed<std::vector<std::byte>>(data + 1, size - 1);
  }
  return 0;
}
