// libFuzzer target for the codec (RELIABILITY.md H6): bytes from another process must decode to
// a value or give DecodeError — never a crash, UB, a leak or a huge allocation (fuzz/run sets
// -malloc_limit_mb) — and a decoded value must re-encode consistently.
#include <cstdio>
#include <cstdlib>

#include "codec_fuzz_types.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (mproc_fuzz::check_roundtrip(data, size) == mproc_fuzz::Outcome::inconsistent) {
    std::fprintf(stderr, "codec_fuzz: decoded value does not re-encode consistently (type %u)\n",
                 size ? data[0] % static_cast<unsigned>(mproc_fuzz::kTypeCount) : 0u);
    std::abort();
  }
  return 0;
}
