// The types the codec fuzzer decodes, shared by fuzz/codec_fuzz.cpp (libFuzzer, clang) and the
// deterministic mutation test in tests/codec/ (gcc, every CI run). Input layout: one byte picks
// the type (modulo the number of types), the rest is that type's encoding.
//
// check_roundtrip(): decodes; DecodeError is a fine outcome (rejected). When decoding succeeds,
// the value is re-encoded and the new bytes must have the same size, decode to an equal value,
// and (for types without unordered containers) re-encode to the very same bytes; otherwise the
// outcome is inconsistent. Any exception other than DecodeError propagates.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <tuple>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

#include "mproc/codec.hpp"

namespace mproc_fuzz {

struct Pod {  // no padding, so its bytes round-trip exactly
  std::int32_t a;
  float b;
  std::int64_t c;
  friend bool operator==(const Pod& x, const Pod& y) { return std::memcmp(&x, &y, sizeof x) == 0; }
};
static_assert(sizeof(Pod) == 16);

struct Record {
  std::string name;
  std::vector<std::int64_t> values;
  std::optional<std::string> note;
  bool flag = false;
  template <class Ar>
  void serialize(Ar& ar) {
    ar(name, values, note, flag);
  }
  friend bool operator==(const Record&, const Record&) = default;
};

struct Node {  // recursive: only the depth limit stops a hostile nesting
  std::int32_t tag = 0;
  std::vector<Node> kids;
  template <class Ar>
  void serialize(Ar& ar) {
    ar(tag, kids);
  }
  friend bool operator==(const Node&, const Node&) = default;
};

struct SaveLoad {  // save/load pair, writing a derived count
  std::vector<std::string> items;
  template <class Ar>
  void save(Ar& ar) const {
    ar(static_cast<std::uint32_t>(items.size()));
    for (const auto& s : items) ar(s);
  }
  template <class Ar>
  void load(Ar& ar) {
    std::uint32_t n = 0;
    ar(n);
    items.clear();
    for (std::uint32_t i = 0; i < n; ++i) {
      std::string s;
      ar(s);
      items.push_back(std::move(s));
    }
  }
  friend bool operator==(const SaveLoad&, const SaveLoad&) = default;
};

using Nested = std::vector<std::map<std::string, std::optional<std::variant<int, std::string>>>>;

// {type, whether its bytes are canonical (no unordered containers)}
using Types = std::tuple<std::string,                                                         // 0
                         std::vector<int>,                                                    // 1
                         std::vector<std::string>,                                            // 2
                         std::map<std::string, std::vector<int>>,                             // 3
                         std::tuple<int, std::string, std::optional<std::uint16_t>, bool>,    // 4
                         std::variant<int, std::string, std::vector<bool>, std::monostate>,   // 5
                         Nested,                                                              // 6
                         Record,                                                              // 7
                         Node,                                                                // 8
                         std::unordered_map<std::int32_t, std::string>,                       // 9
                         std::set<std::string>,                                               // 10
                         std::pair<std::array<std::string, 2>, std::array<std::uint8_t, 3>>,  // 11
                         SaveLoad,                                                            // 12
                         std::vector<Pod>,                                                    // 13
                         std::optional<std::set<std::int64_t>>>;                              // 14
inline constexpr std::size_t kTypeCount = std::tuple_size_v<Types>;

template <class T>
inline constexpr bool kCanonical = true;
template <>
inline constexpr bool kCanonical<std::unordered_map<std::int32_t, std::string>> = false;

enum class Outcome { decoded, rejected, inconsistent };

template <class T>
Outcome check_as(std::span<const std::byte> bytes) {
  T value;
  try {
    value = mproc::decode<T>(bytes);
  } catch (const mproc::DecodeError&) {
    return Outcome::rejected;
  }
  const std::vector<std::byte> again = mproc::encode(value);
  if (again.size() != bytes.size()) return Outcome::inconsistent;
  if (mproc::encoded_size(value) != again.size()) return Outcome::inconsistent;
  const T value2 = mproc::decode<T>(again);  // must not throw: these bytes are ours
  if (!(value2 == value)) return Outcome::inconsistent;
  if constexpr (kCanonical<T>) {
    if (mproc::encode(value2) != again) return Outcome::inconsistent;
  }
  return Outcome::decoded;
}

template <std::size_t... I>
Outcome dispatch(std::size_t which, std::span<const std::byte> bytes, std::index_sequence<I...>) {
  Outcome out = Outcome::rejected;
  ((which == I ? (void)(out = check_as<std::tuple_element_t<I, Types>>(bytes)) : void()), ...);
  return out;
}

inline Outcome check_roundtrip(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return Outcome::rejected;
  const std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(data + 1), size - 1);
  return dispatch(data[0] % kTypeCount, bytes, std::make_index_sequence<kTypeCount>{});
}

// Valid inputs (type byte + encoding) of every type: the fuzzer's seed corpus and the
// mutation test's starting points.
inline std::vector<std::vector<std::uint8_t>> seed_inputs() {
  std::vector<std::vector<std::uint8_t>> out;
  auto add = [&out](std::uint8_t type, const auto& value) {
    const std::vector<std::byte> enc = mproc::encode(value);
    std::vector<std::uint8_t> in{type};
    for (std::byte b : enc) in.push_back(static_cast<std::uint8_t>(b));
    out.push_back(std::move(in));
  };
  add(0, std::string("hello, world"));
  add(1, std::vector<int>{1, -2, 3, 1 << 30});
  add(2, std::vector<std::string>{"", "a", "bc"});
  add(3, std::map<std::string, std::vector<int>>{{"x", {1, 2}}, {"y", {}}});
  add(4, std::tuple<int, std::string, std::optional<std::uint16_t>, bool>{7, "t", 9, true});
  add(5, std::variant<int, std::string, std::vector<bool>, std::monostate>{
             std::vector<bool>{true, false, true}});
  add(6, Nested{{{"a", 1}, {"b", std::nullopt}}, {}, {{"c", std::string("s")}}});
  add(7, Record{"rec", {1, 2, 3}, std::string("note"), true});
  add(8, Node{1, {Node{2, {}}, Node{3, {Node{4, {}}}}}});
  add(9, std::unordered_map<std::int32_t, std::string>{{1, "one"}, {2, "two"}});
  add(10, std::set<std::string>{"a", "b", "zz"});
  add(11,
      std::pair<std::array<std::string, 2>, std::array<std::uint8_t, 3>>{{"p", "q"}, {1, 2, 3}});
  add(12, SaveLoad{{"s", "l"}});
  add(13, std::vector<Pod>{{1, 2.5f, 3}, {-1, -0.0f, 1LL << 40}});
  add(14, std::optional<std::set<std::int64_t>>{std::set<std::int64_t>{5, 6}});
  return out;
}

}  // namespace mproc_fuzz
