// mproc/detail/codec_archive.hpp — the codec's archives: OutputArchive (counts or writes bytes)
// and InputArchive (reads them back, checking every length, index and flag against the bytes
// present before acting on it). A user's `template <class Ar> void serialize(Ar& ar)` member is
// called with either; `ar(a, b, c)`, `ar & a`, `ar << a` (saving) and `ar >> a` (loading) work.
//
// Layout (cereal's binary archive on a little-endian host, so the two interoperate):
// arithmetic and other trivially copyable values are their object bytes; sizes are uint64;
// optional is a "nullopt" byte then the value; variant an int32 index then the alternative;
// maps key, value pairs in iteration order; user types whatever their serialize() writes
// (serialize() wins over trivially copyable, as in cereal). Where we differ: cereal cannot send a
// trivially copyable struct without serialize() at all (we send its object bytes, padding
// included; a bool or enum inside such a struct is not checked — give it serialize() if it comes
// from an untrusted peer); we reject bool and nullopt bytes other than 0/1, duplicate keys, and
// containers of zero-byte elements longer than kMaxZeroSizeElements, which cereal accepts.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "mproc/detail/codec_traits.hpp"

namespace mproc::detail {

static_assert(std::endian::native == std::endian::little,
              "mproc's codec writes cereal's binary layout as host bytes: a little-endian host "
              "(x86-64, arm64) is assumed");

#define MPROC_NOT_TRANSFERABLE_MESSAGE                                                    \
  "mproc: type is not transferable: it must be trivially copyable, a standard container " \
  "(string, vector, array, pair, tuple, optional, variant, map, unordered_map, set) of "  \
  "transferable types, or have a serialize(Ar&) member (or save(Ar&) const and load(Ar&))"

// Always false; named so that the compiler's note reads "type_is_transferable<Bad> evaluates to
// false", naming the offending type beside the message.
template <class T>
inline constexpr bool type_is_transferable = false;

// Fails compilation at the innermost non-transferable type, so the compiler's "In instantiation
// of ... [with T = ...]" line names it (std::unique_ptr<int>, not the vector holding it).
template <class T>
consteval bool assert_transferable() {
  constexpr Kind k = kind_of<T>();
  if constexpr (k == Kind::none) {
    static_assert(type_is_transferable<T>, MPROC_NOT_TRANSFERABLE_MESSAGE);
    return false;
  } else if constexpr (k == Kind::vector || k == Kind::set || k == Kind::optional) {
    return assert_transferable<typename T::value_type>();
  } else if constexpr (k == Kind::array) {
    if constexpr (std::is_array_v<T>) {
      return assert_transferable<std::remove_extent_t<T>>();
    } else {
      return assert_transferable<typename T::value_type>();
    }
  } else if constexpr (k == Kind::pair) {
    return assert_transferable<typename T::first_type>() &&
           assert_transferable<typename T::second_type>();
  } else if constexpr (k == Kind::map) {
    return assert_transferable<typename T::key_type>() &&
           assert_transferable<typename T::mapped_type>();
  } else if constexpr (k == Kind::tuple || k == Kind::variant) {
    return []<template <class...> class L, class... Ts>(std::type_identity<L<Ts...>>) {
      return (assert_transferable<Ts>() && ...);
    }(std::type_identity<T>{});
  } else {
    return true;
  }
}

// Cold paths, out of line (src/codec/codec.cpp). Each throws DecodeError (or Error for encode)
// with a message that names the type, the byte offset and what was wrong.
[[noreturn]] void throw_truncated(std::string_view type, std::size_t offset, std::size_t need,
                                  std::size_t left);
[[noreturn]] void throw_bad_length(std::string_view type, std::size_t offset, std::uint64_t count,
                                   std::size_t elem_min, std::size_t left);
[[noreturn]] void throw_bad_flag(std::string_view type, std::size_t offset, std::string_view what,
                                 unsigned value);
[[noreturn]] void throw_bad_variant_index(std::string_view type, std::size_t offset,
                                          std::int64_t index, std::size_t alternatives);
[[noreturn]] void throw_duplicate_key(std::string_view type, std::size_t offset);
[[noreturn]] void throw_too_deep(std::string_view type, std::size_t offset, bool encoding);
[[noreturn]] void throw_trailing(std::string_view type, std::size_t used, std::size_t total);
[[noreturn]] void throw_valueless_variant(std::string_view type);
[[noreturn]] void throw_buffer_too_small(std::size_t capacity);

// Where an OutputArchive puts bytes. Counting: only adds up sizes (encoded_size, and the first
// pass of encode so the buffer is allocated once). Writing: into [cur, end); past end it grows
// `grow` (if set) — a serialize() that writes more the second time is safe, just slower — or
// throws (encode_into a fixed buffer).
struct CountingSink {
  std::size_t size = 0;
  void put(const void*, std::size_t n) noexcept { size += n; }
};

struct WritingSink {
  std::byte* begin = nullptr;
  std::byte* cur = nullptr;
  std::byte* end = nullptr;
  std::vector<std::byte>* grow = nullptr;

  void put(const void* p, std::size_t n) {
    if (n > static_cast<std::size_t>(end - cur)) make_room(n);
    std::memcpy(cur, p, n);
    cur += n;
  }

 private:
  void make_room(std::size_t n) {
    if (grow == nullptr) throw_buffer_too_small(static_cast<std::size_t>(end - begin));
    std::size_t base = static_cast<std::size_t>(begin - grow->data());
    std::size_t used = static_cast<std::size_t>(cur - grow->data());
    grow->resize(used + n + grow->size() / 2);
    begin = grow->data() + base;
    cur = grow->data() + used;
    end = grow->data() + grow->size();
  }
};

template <class Sink>
class OutputArchive {
 public:
  using is_loading = std::false_type;
  using is_saving = std::true_type;

  explicit OutputArchive(Sink sink) : sink_(sink) {}

  template <class... Ts>
  OutputArchive& operator()(const Ts&... values) {
    (write(values), ...);
    return *this;
  }
  template <class T>
  OutputArchive& operator&(const T& v) {
    return (*this)(v);
  }
  template <class T>
  OutputArchive& operator<<(const T& v) {
    return (*this)(v);
  }

  Sink& sink() noexcept { return sink_; }

  template <class V>
  void write(const V& v) {
    using T = std::remove_cvref_t<V>;
    if constexpr (assert_transferable<T>()) write_value<T>(v);
  }

 private:
  void put_u64(std::uint64_t n) { sink_.put(&n, sizeof n); }

  template <class T>
  void write_value(const T& v) {
    constexpr Kind k = kind_of<T>();
    if constexpr (k == Kind::boolean) {
      const std::uint8_t b = v ? 1 : 0;
      sink_.put(&b, 1);
    } else if constexpr (k == Kind::bitwise) {
      if constexpr (!std::is_empty_v<T>) sink_.put(std::addressof(v), sizeof(T));
    } else if constexpr (k == Kind::string) {
      put_u64(v.size());
      if (!v.empty()) sink_.put(v.data(), v.size() * sizeof(typename T::value_type));
    } else if constexpr (k == Kind::vector) {
      using E = typename T::value_type;
      put_u64(v.size());
      if constexpr (is_bitwise<E>() && !std::is_empty_v<E>) {
        if (!v.empty()) sink_.put(v.data(), v.size() * sizeof(E));
      } else if constexpr (!std::is_empty_v<E> || !is_bitwise<E>()) {
        for (const auto& e : v) write(static_cast<const E&>(e));
      }
    } else if constexpr (k == Kind::array) {
      for (const auto& e : v) write(e);
    } else if constexpr (k == Kind::pair) {
      write(v.first);
      write(v.second);
    } else if constexpr (k == Kind::tuple) {
      std::apply([&](const auto&... e) { (write(e), ...); }, v);
    } else if constexpr (k == Kind::optional) {
      const std::uint8_t nullopt = v.has_value() ? 0 : 1;
      sink_.put(&nullopt, 1);
      if (v.has_value()) write(*v);
    } else if constexpr (k == Kind::variant) {
      if (v.valueless_by_exception()) throw_valueless_variant(type_name<T>());
      const std::int32_t index = static_cast<std::int32_t>(v.index());
      sink_.put(&index, sizeof index);
      std::visit([&](const auto& alt) { write(alt); }, v);
    } else if constexpr (k == Kind::map) {
      put_u64(v.size());
      for (const auto& [key, value] : v) {
        write(key);
        write(value);
      }
    } else if constexpr (k == Kind::set) {
      put_u64(v.size());
      for (const auto& key : v) write(key);
    } else if constexpr (k == Kind::user_serialize || k == Kind::user_save_load) {
      if (++depth_ > kMaxDepth) throw_too_deep(type_name<T>(), 0, true);
      // cereal's convention: serialize() is non-const and serves both directions.
      auto& t = const_cast<T&>(v);
      if constexpr (k == Kind::user_save_load) {
        if constexpr (HasMemberSaveLoad<T>) {
          v.save(*this);
        } else {
          save(*this, v);
        }
      } else if constexpr (HasMemberSerialize<T>) {
        t.serialize(*this);
      } else {
        serialize(*this, t);
      }
      --depth_;
    }
  }

  Sink sink_;
  unsigned depth_ = 0;
};

// What one element of an associative container encodes as: the key, or key and value.
template <class T, bool IsMap>
struct element_of {
  using type = typename T::key_type;
};
template <class T>
struct element_of<T, true> {
  using type = std::pair<typename T::key_type, typename T::mapped_type>;
};

class InputArchive {
 public:
  using is_loading = std::true_type;
  using is_saving = std::false_type;

  explicit InputArchive(const std::byte* data, std::size_t size) noexcept
      : begin_(data), cur_(data), end_(data + size) {}

  template <class... Ts>
  InputArchive& operator()(Ts&... values) {
    (read(values), ...);
    return *this;
  }
  template <class T>
  InputArchive& operator&(T& v) {
    return (*this)(v);
  }
  template <class T>
  InputArchive& operator>>(T& v) {
    return (*this)(v);
  }

  [[nodiscard]] std::size_t offset() const noexcept {
    return static_cast<std::size_t>(cur_ - begin_);
  }
  [[nodiscard]] std::size_t left() const noexcept { return static_cast<std::size_t>(end_ - cur_); }

  // Reads into an existing object (cereal's load convention).
  template <class T>
  void read(T& v) {
    static_assert(!std::is_const_v<T>, "mproc: cannot decode into a const object");
    if constexpr (assert_transferable<T>()) read_into<T>(v);
  }

  // Reads a new object; trivially copyable types need no default constructor.
  template <class T>
  T read_value() {
    if constexpr (kind_of<T>() == Kind::bitwise) {
      std::array<std::byte, sizeof(T)> raw{};
      if constexpr (!std::is_empty_v<T>) std::memcpy(raw.data(), take<T>(sizeof(T)), sizeof(T));
      return std::bit_cast<T>(raw);
    } else {
      static_assert(std::is_default_constructible_v<T>,
                    "mproc: decoding this type needs a default constructor (it is filled in by "
                    "serialize/load, as in cereal)");
      T v{};
      read(v);
      return v;
    }
  }

 private:
  // The next n bytes, or DecodeError naming T if fewer are left.
  template <class T>
  const std::byte* take(std::size_t n) {
    if (n > left()) throw_truncated(type_name<T>(), offset(), n, left());
    const std::byte* p = cur_;
    cur_ += n;
    return p;
  }

  // A uint64 count of elements of type E, checked against the bytes left before anything is
  // allocated for it.
  template <class T, class E>
  std::size_t read_count() {
    std::uint64_t n;
    std::memcpy(&n, take<T>(sizeof n), sizeof n);
    constexpr std::size_t m = min_encoded_size<E>();
    const std::size_t l = left();
    bool ok;
    if constexpr (m > 0) {
      ok = n <= l / m;
    } else {
      ok = n <= l || n <= kMaxZeroSizeElements;
    }
    if (!ok) throw_bad_length(type_name<T>(), offset() - sizeof n, n, m, l);
    return static_cast<std::size_t>(n);
  }

  template <class T>
  bool read_flag(std::string_view what) {
    const auto b = static_cast<std::uint8_t>(*take<T>(1));
    if (b > 1) throw_bad_flag(type_name<T>(), offset() - 1, what, b);
    return b == 1;
  }

  template <class T>
  void read_into(T& v) {
    constexpr Kind k = kind_of<T>();
    if constexpr (k == Kind::boolean) {
      v = read_flag<T>("bool byte");
    } else if constexpr (k == Kind::bitwise) {
      if constexpr (!std::is_empty_v<T>)
        std::memcpy(std::addressof(v), take<T>(sizeof(T)), sizeof(T));
    } else if constexpr (k == Kind::string) {
      using C = typename T::value_type;
      const std::size_t n = read_count<T, C>();
      v.resize(n);
      if (n != 0) std::memcpy(v.data(), take<T>(n * sizeof(C)), n * sizeof(C));
    } else if constexpr (k == Kind::vector) {
      read_vector(v);
    } else if constexpr (k == Kind::array) {
      for (auto& e : v) read(e);
    } else if constexpr (k == Kind::pair) {
      read(v.first);
      read(v.second);
    } else if constexpr (k == Kind::tuple) {
      std::apply([&](auto&... e) { (read(e), ...); }, v);
    } else if constexpr (k == Kind::optional) {
      if (read_flag<T>("optional's nullopt byte")) {
        v.reset();
      } else {
        v.emplace(read_value<typename T::value_type>());
      }
    } else if constexpr (k == Kind::variant) {
      read_variant(v);
    } else if constexpr (k == Kind::map || k == Kind::set) {
      read_associative(v);
    } else if constexpr (k == Kind::user_serialize || k == Kind::user_save_load) {
      if (++depth_ > kMaxDepth) throw_too_deep(type_name<T>(), offset(), false);
      if constexpr (k == Kind::user_save_load) {
        if constexpr (HasMemberSaveLoad<T>) {
          v.load(*this);
        } else {
          load(*this, v);
        }
      } else if constexpr (HasMemberSerialize<T>) {
        v.serialize(*this);
      } else {
        serialize(*this, v);
      }
      --depth_;
    }
  }

  template <class T>
  void read_vector(T& v) {
    using E = typename T::value_type;
    const std::size_t n = read_count<T, E>();
    v.clear();
    if constexpr (is_bitwise<E>() && std::is_default_constructible_v<E>) {
      v.resize(n);
      if constexpr (!std::is_empty_v<E>) {
        if (n != 0) std::memcpy(v.data(), take<T>(n * sizeof(E)), n * sizeof(E));
      }
    } else {
      // The count was checked against the bytes left; reserve no more than those could hold.
      constexpr std::size_t m = min_encoded_size<E>() > 0 ? min_encoded_size<E>() : 1;
      v.reserve(n < left() / m ? n : left() / m);
      for (std::size_t i = 0; i < n; ++i) v.push_back(read_value<E>());
    }
  }

  template <class T>
  void read_variant(T& v) {
    std::int32_t index;
    std::memcpy(&index, take<T>(sizeof index), sizeof index);
    constexpr std::size_t alternatives = std::variant_size_v<T>;
    if (index < 0 || static_cast<std::size_t>(index) >= alternatives) {
      throw_bad_variant_index(type_name<T>(), offset() - sizeof index, index, alternatives);
    }
    emplace_alternative(v, static_cast<std::size_t>(index),
                        std::make_index_sequence<alternatives>{});
  }

  template <class T, std::size_t... I>
  void emplace_alternative(T& v, std::size_t index, std::index_sequence<I...>) {
    ((index == I ? (void)v.template emplace<I>(read_value<std::variant_alternative_t<I, T>>())
                 : void()),
     ...);
  }

  template <class T>
  void read_associative(T& v) {
    using K = typename T::key_type;
    constexpr bool is_map_kind = kind_of<T>() == Kind::map;
    using E = typename element_of<T, is_map_kind>::type;
    const std::size_t n = read_count<T, E>();
    v.clear();
    if constexpr (requires { v.reserve(n); }) {
      constexpr std::size_t m = min_encoded_size<E>() > 0 ? min_encoded_size<E>() : 1;
      v.reserve(n < left() / m ? n : left() / m);
    }
    for (std::size_t i = 0; i < n; ++i) {
      const std::size_t at = offset();
      const std::size_t before = v.size();
      if constexpr (is_map_kind) {
        K key = read_value<K>();
        v.emplace_hint(v.end(), std::move(key), read_value<typename T::mapped_type>());
      } else {
        v.emplace_hint(v.end(), read_value<K>());
      }
      if (v.size() == before) throw_duplicate_key(type_name<T>(), at);
    }
  }

  const std::byte* begin_;
  const std::byte* cur_;
  const std::byte* end_;
  unsigned depth_ = 0;
};

}  // namespace mproc::detail
