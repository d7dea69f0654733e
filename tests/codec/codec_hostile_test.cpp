// Hostile bytes (RELIABILITY.md H2, H5, H6): truncated, oversized, malformed and mutated input
// gives DecodeError — never a crash, UB (run this under ASan/UBSan), another exception, or an
// allocation larger than the input justifies (measured by replacing operator new below).
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <new>
#include <random>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <variant>
#include <vector>

#include "codec_fuzz_types.hpp"
#include "mproc/codec.hpp"

// --- the largest single allocation made by this thread while tracking -----------------------
namespace {
thread_local bool g_tracking = false;
thread_local std::size_t g_largest = 0;
}  // namespace

// The replacements pair malloc with free; gcc cannot see that through inlining.
#pragma GCC diagnostic ignored "-Wpragmas"
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void* operator new(std::size_t n) {
  if (g_tracking && n > g_largest) g_largest = n;
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t n) { return ::operator new(n); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }

namespace {

using Bytes = std::vector<std::byte>;

class LargestAllocation {
 public:
  LargestAllocation() {
    g_largest = 0;
    g_tracking = true;
  }
  ~LargestAllocation() { g_tracking = false; }
  std::size_t bytes() const { return g_largest; }
};

struct Person {
  std::string name;
  std::vector<int> scores;
  template <class Ar>
  void serialize(Ar& ar) {
    ar(name, scores);
  }
  friend bool operator==(const Person&, const Person&) = default;
};

struct Empty {};

struct Tree {
  std::string label;
  std::vector<Tree> children;
  template <class Ar>
  void serialize(Ar& ar) {
    ar(label, children);
  }
};

void put_u64(Bytes& b, std::uint64_t v) {
  const auto* p = reinterpret_cast<const std::byte*>(&v);
  b.insert(b.end(), p, p + sizeof v);
}
void put_i32(Bytes& b, std::int32_t v) {
  const auto* p = reinterpret_cast<const std::byte*>(&v);
  b.insert(b.end(), p, p + sizeof v);
}
void put_byte(Bytes& b, int v) { b.push_back(static_cast<std::byte>(v)); }
void put_str(Bytes& b, const std::string& s) {
  put_u64(b, s.size());
  for (char c : s) put_byte(b, c);
}

// Decoding must throw DecodeError whose what() contains `needle`.
template <class T>
void expect_decode_error(const Bytes& bytes, const std::string& needle) {
  SCOPED_TRACE(std::string(mproc::detail::type_name<T>()));
  try {
    (void)mproc::decode<T>(bytes);
    ADD_FAILURE() << "decoded without error";
  } catch (const mproc::DecodeError& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

template <class T>
void expect_every_truncation_fails(const T& value) {
  SCOPED_TRACE(std::string(mproc::detail::type_name<T>()));
  const Bytes full = mproc::encode(value);
  for (std::size_t n = 0; n < full.size(); ++n) {
    EXPECT_THROW((void)mproc::decode<T>(std::span(full.data(), n)), mproc::DecodeError)
        << "prefix of " << n << " of " << full.size() << " bytes";
  }
  EXPECT_NO_THROW((void)mproc::decode<T>(full));
}

TEST(CodecHostile, EveryTruncationOfAValidEncodingIsDecodeError) {
  expect_every_truncation_fails(std::uint64_t{7});
  expect_every_truncation_fails(std::string("truncate me"));
  expect_every_truncation_fails(std::vector<int>{1, 2, 3});
  expect_every_truncation_fails(std::vector<std::string>{"a", "", "bcd"});
  expect_every_truncation_fails(std::map<std::string, std::vector<int>>{{"k", {1}}, {"l", {}}});
  expect_every_truncation_fails(std::tuple<int, std::optional<std::string>, bool>{1, "x", true});
  expect_every_truncation_fails(std::variant<int, std::string>{std::string("v")});
  expect_every_truncation_fails(std::set<int>{1, 2, 3});
  expect_every_truncation_fails(Person{"p", {1, 2}});
  expect_every_truncation_fails(std::vector<bool>{true, false});
  expect_every_truncation_fails(mproc_fuzz::Nested{{{"a", 1}, {"b", std::nullopt}}});
}

template <class T>
void expect_huge_count_rejected_without_allocating(std::uint64_t count) {
  SCOPED_TRACE(std::string(mproc::detail::type_name<T>()));
  Bytes bytes;
  put_u64(bytes, count);
  bytes.resize(bytes.size() + 12, std::byte{0});  // some bytes, far fewer than the count needs
  LargestAllocation largest;
  expect_decode_error<T>(bytes, "length " + std::to_string(count) + " exceeds the 12 bytes left");
  EXPECT_LE(largest.bytes(), 4096u);
}

TEST(CodecHostile, HugeLengthPrefixIsRejectedBeforeAllocating) {
  for (std::uint64_t count : {std::uint64_t{1} << 60, std::uint64_t{1000000000}, ~std::uint64_t{0},
                              std::uint64_t{1} << 32}) {
    expect_huge_count_rejected_without_allocating<std::string>(count);
    expect_huge_count_rejected_without_allocating<std::vector<int>>(count);
    expect_huge_count_rejected_without_allocating<std::vector<std::string>>(count);
    expect_huge_count_rejected_without_allocating<std::vector<bool>>(count);
    expect_huge_count_rejected_without_allocating<std::map<std::string, int>>(count);
    expect_huge_count_rejected_without_allocating<std::unordered_map<int, int>>(count);
    expect_huge_count_rejected_without_allocating<std::set<int>>(count);
    expect_huge_count_rejected_without_allocating<std::unordered_set<int>>(count);
    expect_huge_count_rejected_without_allocating<std::vector<Person>>(count);
    expect_huge_count_rejected_without_allocating<std::vector<Empty>>(count);
    expect_huge_count_rejected_without_allocating<std::vector<std::vector<int>>>(count);
  }
}

TEST(CodecHostile, LengthErrorNamesTypeOffsetAndBytesLeft) {
  Bytes bytes;
  put_u64(bytes, std::uint64_t{1} << 60);
  bytes.resize(20);
  expect_decode_error<std::vector<int>>(
      bytes,
      "decode std::vector<int> at byte 0: length 1152921504606846976 exceeds the 12 bytes left");
}

TEST(CodecHostile, HugeInnerLengthIsRejected) {
  Bytes bytes;
  put_u64(bytes, 1);        // one inner vector...
  put_u64(bytes, 1 << 30);  // ...claiming a billion ints
  put_u64(bytes, 0);
  LargestAllocation largest;
  expect_decode_error<std::vector<std::vector<int>>>(bytes, "at byte 8: length 1073741824");
  EXPECT_LE(largest.bytes(), 4096u);
}

TEST(CodecHostile, MillionLevelNestingIsDecodeErrorNotStackOverflow) {
  Bytes bytes;
  bytes.reserve(16'000'016);
  for (int i = 0; i < 1'000'000; ++i) {
    put_u64(bytes, 0);  // label ""
    put_u64(bytes, 1);  // one child
  }
  put_u64(bytes, 0);
  put_u64(bytes, 0);
  expect_decode_error<Tree>(bytes, "nested deeper than");
}

TEST(CodecHostile, BadVariantIndexIsDecodeError) {
  using V = std::variant<int, std::string>;
  for (std::int32_t index : {2, 3, -1, 0x7fffffff}) {
    Bytes bytes;
    put_i32(bytes, index);
    put_i32(bytes, 0);
    expect_decode_error<V>(
        bytes, "variant index " + std::to_string(index) + " out of range (2 alternatives)");
  }
}

TEST(CodecHostile, OptionalFlagOtherThanZeroOrOneIsDecodeError) {
  for (int flag : {2, 0x80, 0xff}) {
    Bytes bytes;
    put_byte(bytes, flag);
    put_i32(bytes, 5);
    expect_decode_error<std::optional<int>>(bytes, "nullopt byte");
  }
}

TEST(CodecHostile, BoolByteOtherThanZeroOrOneIsDecodeError) {
  expect_decode_error<bool>(Bytes{std::byte{2}}, "bool byte 0x02 is neither 0 nor 1");
  expect_decode_error<bool>(Bytes{std::byte{0xff}}, "bool byte 0xff");
  Bytes vb;
  put_u64(vb, 3);
  put_byte(vb, 1);
  put_byte(vb, 7);
  put_byte(vb, 0);
  expect_decode_error<std::vector<bool>>(vb, "at byte 9: bool byte 0x07");
  expect_decode_error<std::array<bool, 2>>(Bytes{std::byte{0}, std::byte{9}}, "bool byte");
}

TEST(CodecHostile, TrailingBytesAreDecodeError) {
  Bytes bytes = mproc::encode(std::string("abc"));
  bytes.push_back(std::byte{0});
  expect_decode_error<std::string>(bytes, "1 trailing bytes after the value (it used 11 of 12)");
  Bytes empty_plus = {std::byte{1}};
  expect_decode_error<std::monostate>(empty_plus, "trailing");
}

TEST(CodecHostile, DuplicateKeysAreDecodeError) {
  Bytes set_bytes;
  put_u64(set_bytes, 2);
  put_str(set_bytes, "a");
  put_str(set_bytes, "a");
  expect_decode_error<std::set<std::string>>(set_bytes, "at byte 17: duplicate key");
  expect_decode_error<std::unordered_set<std::string>>(set_bytes, "duplicate key");

  Bytes map_bytes;
  put_u64(map_bytes, 2);
  put_i32(map_bytes, 1);
  put_i32(map_bytes, 10);
  put_i32(map_bytes, 1);
  put_i32(map_bytes, 20);
  expect_decode_error<std::map<int, int>>(map_bytes, "duplicate key");
  expect_decode_error<std::unordered_map<int, int>>(map_bytes, "duplicate key");
}

TEST(CodecHostile, KeysOutOfOrderStillDecode) {  // as cereal: order is not part of the format
  Bytes bytes;
  put_u64(bytes, 2);
  put_i32(bytes, 2);
  put_i32(bytes, 1);
  EXPECT_EQ(mproc::decode<std::set<int>>(bytes), (std::set<int>{1, 2}));
}

// Mutations of valid encodings of every fuzz type. Deterministic (fixed seed), so a failure here
// reproduces; fuzz/ explores further.
Bytes mutate(std::mt19937_64& rng, std::vector<std::uint8_t> in) {
  auto pick = [&rng](std::size_t n) { return n == 0 ? 0 : static_cast<std::size_t>(rng() % n); };
  const int ops = 1 + static_cast<int>(pick(4));
  for (int op = 0; op < ops; ++op) {
    switch (pick(8)) {
      case 0:  // flip a bit
        if (!in.empty()) in[pick(in.size())] ^= static_cast<std::uint8_t>(1u << pick(8));
        break;
      case 1:  // random byte
        if (!in.empty()) in[pick(in.size())] = static_cast<std::uint8_t>(rng());
        break;
      case 2:  // truncate
        in.resize(pick(in.size() + 1));
        break;
      case 3: {  // insert random bytes
        const std::size_t at = pick(in.size() + 1);
        const std::size_t n = 1 + pick(9);
        for (std::size_t i = 0; i < n; ++i) {
          in.insert(in.begin() + static_cast<std::ptrdiff_t>(at), static_cast<std::uint8_t>(rng()));
        }
        break;
      }
      case 4: {  // erase a range
        const std::size_t at = pick(in.size() + 1);
        const std::size_t n = std::min(in.size() - at, pick(9));
        in.erase(in.begin() + static_cast<std::ptrdiff_t>(at),
                 in.begin() + static_cast<std::ptrdiff_t>(at + n));
        break;
      }
      case 5: {  // an interesting 8-byte value (a length) somewhere
        static constexpr std::uint64_t kValues[] = {0,
                                                    1,
                                                    2,
                                                    255,
                                                    0x7fffffff,
                                                    0x80000000,
                                                    std::uint64_t{1} << 32,
                                                    std::uint64_t{1} << 60,
                                                    ~std::uint64_t{0},
                                                    1000000000};
        if (in.size() >= 8) {
          const std::uint64_t v = kValues[pick(std::size(kValues))];
          std::memcpy(in.data() + pick(in.size() - 7), &v, 8);
        }
        break;
      }
      case 6: {  // duplicate a range
        if (!in.empty()) {
          const std::size_t at = pick(in.size());
          const std::size_t n = 1 + pick(std::min<std::size_t>(16, in.size() - at));
          std::vector<std::uint8_t> piece(in.begin() + static_cast<std::ptrdiff_t>(at),
                                          in.begin() + static_cast<std::ptrdiff_t>(at + n - 1));
          in.insert(in.begin() + static_cast<std::ptrdiff_t>(pick(in.size() + 1)), piece.begin(),
                    piece.end());
        }
        break;
      }
      case 7:  // decode as another type
        if (!in.empty()) in[0] = static_cast<std::uint8_t>(rng());
        break;
    }
  }
  Bytes out;
  for (auto b : in) out.push_back(static_cast<std::byte>(b));
  return out;
}

TEST(CodecHostile, DeterministicMutationsGiveAValueOrDecodeErrorOnly) {
  std::mt19937_64 rng(20240601);
  const auto seeds = mproc_fuzz::seed_inputs();
  int decoded = 0;
  int rejected = 0;
  for (int round = 0; round < 40000; ++round) {
    const auto& seed = seeds[static_cast<std::size_t>(round) % seeds.size()];
    const Bytes input = mutate(rng, seed);
    const auto* data = reinterpret_cast<const std::uint8_t*>(input.data());
    LargestAllocation largest;
    mproc_fuzz::Outcome outcome{};
    try {
      outcome = mproc_fuzz::check_roundtrip(data, input.size());
    } catch (const std::exception& e) {
      FAIL() << "round " << round << ": " << typeid(e).name() << ": " << e.what();
    }
    ASSERT_NE(outcome, mproc_fuzz::Outcome::inconsistent) << "round " << round;
    ASSERT_LE(largest.bytes(), 64 * input.size() + 4096) << "round " << round;
    (outcome == mproc_fuzz::Outcome::decoded ? decoded : rejected)++;
  }
  RecordProperty("decoded", decoded);
  RecordProperty("rejected", rejected);
  // Both outcomes occur, or the mutations test nothing.
  EXPECT_GT(decoded, 1000);
  EXPECT_GT(rejected, 1000);
}

TEST(CodecHostile, FuzzSeedsAndCommittedCorpusDecode) {
  for (const auto& seed : mproc_fuzz::seed_inputs()) {
    EXPECT_EQ(mproc_fuzz::check_roundtrip(seed.data(), seed.size()), mproc_fuzz::Outcome::decoded)
        << "type " << int(seed[0]);
  }
  int files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(MPROC_FUZZ_CORPUS_DIR)) {
    std::ifstream f(entry.path(), std::ios::binary);
    std::vector<std::uint8_t> data((std::istreambuf_iterator<char>(f)), {});
    EXPECT_EQ(mproc_fuzz::check_roundtrip(data.data(), data.size()), mproc_fuzz::Outcome::decoded)
        << entry.path();
    ++files;
  }
  EXPECT_GE(files, static_cast<int>(mproc_fuzz::kTypeCount));
}

}  // namespace
