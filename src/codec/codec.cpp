// The codec's cold paths: building the error messages (the templates stay small and fast).
#include "mproc/codec.hpp"

#include <string>

namespace mproc::detail {
namespace {

[[noreturn]] void fail(std::string_view type, std::size_t offset, const std::string& what) {
  throw DecodeError("decode " + std::string(type) + " at byte " + std::to_string(offset) + ": " +
                    what);
}

std::string hex_byte(unsigned v) {
  const char* digits = "0123456789abcdef";
  return std::string("0x") + digits[(v >> 4) & 0xf] + digits[v & 0xf];
}

}  // namespace

void throw_truncated(std::string_view type, std::size_t offset, std::size_t need,
                     std::size_t left) {
  fail(type, offset,
       "truncated: needs " + std::to_string(need) + " bytes, " + std::to_string(left) + " left");
}

void throw_bad_length(std::string_view type, std::size_t offset, std::uint64_t count,
                      std::size_t elem_min, std::size_t left) {
  std::string what =
      "length " + std::to_string(count) + " exceeds the " + std::to_string(left) + " bytes left";
  if (elem_min > 1) what += " (each element needs at least " + std::to_string(elem_min) + ")";
  if (elem_min == 0) {
    what += " (elements that may encode to zero bytes are limited to " +
            std::to_string(kMaxZeroSizeElements) + ")";
  }
  fail(type, offset, what);
}

void throw_bad_flag(std::string_view type, std::size_t offset, std::string_view what,
                    unsigned value) {
  fail(type, offset, std::string(what) + " " + hex_byte(value) + " is neither 0 nor 1");
}

void throw_bad_variant_index(std::string_view type, std::size_t offset, std::int64_t index,
                             std::size_t alternatives) {
  fail(type, offset,
       "variant index " + std::to_string(index) + " out of range (" + std::to_string(alternatives) +
           " alternatives)");
}

void throw_duplicate_key(std::string_view type, std::size_t offset) {
  fail(type, offset, "duplicate key");
}

void throw_too_deep(std::string_view type, std::size_t offset, bool encoding) {
  const std::string what = "nested deeper than " + std::to_string(kMaxDepth) +
                           " levels of types with serialize()/load()";
  if (encoding) throw Error("encode " + std::string(type) + ": " + what);
  fail(type, offset, what);
}

void throw_trailing(std::string_view type, std::size_t used, std::size_t total) {
  throw DecodeError("decode " + std::string(type) + ": " + std::to_string(total - used) +
                    " trailing bytes after the value (it used " + std::to_string(used) + " of " +
                    std::to_string(total) + ")");
}

void throw_valueless_variant(std::string_view type) {
  throw Error("encode " + std::string(type) + ": the variant is valueless_by_exception");
}

void throw_buffer_too_small(std::size_t capacity) {
  throw Error("encode_into: the value does not fit the buffer of " + std::to_string(capacity) +
              " bytes (see encoded_size)");
}

}  // namespace mproc::detail
