// Fuzzes the replay file parser (mproc/replay.hpp): a file left in replay_dir may be truncated,
// corrupt or from another build. The first byte picks whether the body's checksum is made to
// match (so the fuzzer gets past it to the sections and the typed decoding); the rest is the
// file. parse_replay and replay must either work or throw mproc::Error: never crash, read out of
// bounds or allocate more than the bytes present.
#include <cstddef>
#include <cstdint>
#include <string>
#include <tuple>
#include <vector>

#include "mproc/replay.hpp"

namespace {

int plus_one(int x) { return x + 1; }
std::size_t text_size(const std::string& s) { return s.size(); }
std::size_t join(const std::string& s, int n) { return s.size() + static_cast<std::size_t>(n); }
std::size_t count(const std::vector<std::string>& v) { return v.size(); }

template <class... A, class F>
void try_replay(const mproc::detail::ReplayRecord& rec, F f) {
  try {
    (void)mproc::detail::replay_record<F, A...>(rec, f, "fuzz");
  } catch (const mproc::Error&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const bool reseal = (data[0] & 1) != 0;
  std::vector<std::byte> file(reinterpret_cast<const std::byte*>(data) + 1,
                              reinterpret_cast<const std::byte*>(data) + size);
  if (reseal) mproc::detail::reseal_replay(file);
  mproc::detail::ReplayRecord rec;
  try {
    rec = mproc::detail::parse_replay(file, "fuzz");
  } catch (const mproc::Error&) {
    return 0;
  }
  // Every type the fingerprint may name: a match decodes the input with the codec.
  try_replay<int>(rec, &plus_one);
  try_replay<std::string>(rec, &text_size);
  try_replay<std::string, int>(rec, &join);
  try_replay<std::vector<std::string>>(rec, &count);
  volatile int k = 3;  // (a constant would need no capture)
  try_replay<int>(rec, [k = static_cast<int>(k)](int x) { return x + k; });  // its state: the file's
  return 0;
}
