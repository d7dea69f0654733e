// mproc/codec.hpp — values <-> bytes, for everything that crosses a process boundary.
//
// A type is Transferable when it is trivially copyable (sent as its bytes), a standard container
// (string, vector, array, pair, tuple, optional, variant, map, unordered_map, set,
// unordered_set) of transferable types, or a class with a cereal-style member
// `template <class Ar> void serialize(Ar& ar) { ar(a, b); }` (or save(Ar&) const + load(Ar&)).
//
//   struct Job { std::string name; std::vector<double> xs;
//                template <class Ar> void serialize(Ar& ar) { ar(name, xs); } };
//   std::vector<std::byte> bytes = mproc::encode(Job{"a", {1, 2}});
//   Job j = mproc::decode<Job>(bytes);  // DecodeError unless the bytes are exactly one Job
//
// Contiguous trivially copyable data (vector<double>, string) is one memcpy each way. The byte
// layout is cereal's binary archive (little-endian host); see detail/codec_archive.hpp.
// Hostile bytes: every length, variant index, optional flag and bool is checked against the
// bytes present before it is acted on, so a truncated, oversized, or malformed message gives
// DecodeError naming the type and byte offset — never UB, a crash, or an allocation larger than
// a valid message of that size would need. Nesting of user types is limited to
// detail::kMaxDepth levels both ways.
// Threads and fork: every function is reentrant and keeps no state; the bytes contain no
// pointers or handles of this process (except pointers inside trivially copyable values, which
// are the user's business, as in C), so they mean the same in any process running this
// executable; a peer's death mid-message only ever shows up here as truncated bytes, i.e.
// DecodeError. A non-transferable type is a compile-time error (static_assert).
#pragma once

#include <cstddef>
#include <span>
#include <type_traits>
#include <vector>

#include "mproc/detail/codec_archive.hpp"
#include "mproc/detail/codec_traits.hpp"
#include "mproc/error.hpp"

namespace mproc {

// The exact number of bytes encode(value) produces. No allocation for trivially copyable T or
// containers of it.
template <class T>
[[nodiscard]] std::size_t encoded_size(const T& value) {
  detail::OutputArchive<detail::CountingSink> counter{detail::CountingSink{}};
  counter.write(value);  // a non-transferable T fails here, in a static_assert
  return counter.sink().size;
}

// Appends the encoding of value to out (one resize of out).
template <class T>
void encode_to(std::vector<std::byte>& out, const T& value) {
  if constexpr (detail::assert_transferable<T>()) {  // else: static_assert'ed inside
    const std::size_t start = out.size();
    out.resize(start + encoded_size(value));
    detail::WritingSink sink{out.data() + start, out.data() + start, out.data() + out.size(), &out};
    detail::OutputArchive<detail::WritingSink> writer{sink};
    writer.write(value);
    out.resize(static_cast<std::size_t>(writer.sink().cur - out.data()));
  }
}

// The encoding of value.
template <class T>
[[nodiscard]] std::vector<std::byte> encode(const T& value) {
  std::vector<std::byte> out;
  encode_to(out, value);
  return out;
}

// Encodes value into buf without allocating; returns the bytes written. Throws mproc::Error if
// buf is smaller than encoded_size(value) (what was written by then is unspecified).
template <class T>
std::size_t encode_into(std::span<std::byte> buf, const T& value) {
  detail::WritingSink sink{buf.data(), buf.data(), buf.data() + buf.size(), nullptr};
  detail::OutputArchive<detail::WritingSink> writer{sink};
  writer.write(value);
  return static_cast<std::size_t>(writer.sink().cur - buf.data());
}

// Decodes a T that occupies all of bytes. Throws DecodeError if the bytes are truncated,
// malformed (length, variant index, flag or bool out of range, duplicate key), nested too
// deeply, or followed by trailing bytes; DecodeError::what() names the type and byte offset.
// Exceptions thrown by a user type's serialize/load pass through.
template <class T>
[[nodiscard]] T decode(std::span<const std::byte> bytes) {
  static_assert(!std::is_array_v<T> && !std::is_const_v<T> && !std::is_reference_v<T>,
                "mproc: decode<T> needs a non-const, non-reference, non-array T");
  if constexpr (detail::assert_transferable<T>()) {  // else: static_assert'ed inside
    detail::InputArchive reader(bytes.data(), bytes.size());
    T value = reader.read_value<T>();
    if (reader.left() != 0) {
      detail::throw_trailing(detail::type_name<T>(), reader.offset(), bytes.size());
    }
    return value;
  } else {
    throw DecodeError("unreachable");
  }
}

}  // namespace mproc
