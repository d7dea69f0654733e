// mproc/detail/codec_traits.hpp — compile-time classification of the types the codec accepts
// (API.md "What can cross a process boundary"), the Transferable concept, and the limits the
// decoder enforces. Everything here is a pure type computation: no state, no syscalls.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <variant>
#include <vector>

namespace mproc::detail {

// Deepest nesting of user types (serialize/save/load) the codec encodes or decodes. Only user
// types can recurse (struct Node { std::vector<Node> kids; }), so only they count; the limit
// keeps a hostile 1e6-level payload from overflowing the stack (RELIABILITY.md H5).
inline constexpr unsigned kMaxDepth = 256;

// A container whose elements may encode to zero bytes (empty types, user types) cannot bound
// its element count by the bytes left, so it is capped here instead.
inline constexpr std::uint64_t kMaxZeroSizeElements = std::uint64_t{1} << 16;

template <class>
inline constexpr bool dependent_false = false;

// --- recognising the standard templates ------------------------------------------------------
template <class T>
struct is_basic_string : std::false_type {};
template <class C, class Tr, class A>
struct is_basic_string<std::basic_string<C, Tr, A>> : std::true_type {};

template <class T>
struct is_vector : std::false_type {};
template <class T, class A>
struct is_vector<std::vector<T, A>> : std::true_type {};

template <class T>
struct is_std_array : std::false_type {};
template <class T, std::size_t N>
struct is_std_array<std::array<T, N>> : std::true_type {};

template <class T>
struct is_pair : std::false_type {};
template <class A, class B>
struct is_pair<std::pair<A, B>> : std::true_type {};

template <class T>
struct is_tuple : std::false_type {};
template <class... Ts>
struct is_tuple<std::tuple<Ts...>> : std::true_type {};

template <class T>
struct is_optional : std::false_type {};
template <class T>
struct is_optional<std::optional<T>> : std::true_type {};

template <class T>
struct is_variant : std::false_type {};
template <class... Ts>
struct is_variant<std::variant<Ts...>> : std::true_type {};

// Unique-key associative containers: a duplicate key in the bytes is a DecodeError.
template <class T>
struct is_map : std::false_type {};
template <class K, class V, class C, class A>
struct is_map<std::map<K, V, C, A>> : std::true_type {};
template <class K, class V, class H, class E, class A>
struct is_map<std::unordered_map<K, V, H, E, A>> : std::true_type {};

template <class T>
struct is_set : std::false_type {};
template <class K, class C, class A>
struct is_set<std::set<K, C, A>> : std::true_type {};
template <class K, class H, class E, class A>
struct is_set<std::unordered_set<K, H, E, A>> : std::true_type {};

// --- user types (cereal's convention) --------------------------------------------------------
// Only used to ask "does this call compile"; a user's template member accepts any archive.
struct ProbeArchive {
  using is_loading = std::false_type;
  using is_saving = std::true_type;
  template <class... Ts>
  void operator()(Ts&&...);
};

template <class T>
concept HasMemberSerialize = requires(T& t, ProbeArchive& ar) {
  t.serialize(ar);
};
template <class T>
concept HasMemberSaveLoad = requires(const T& ct, T& t, ProbeArchive& ar) {
  ct.save(ar);
  t.load(ar);
};
// Non-member serialize(ar, t) / save(ar, t) + load(ar, t), found by argument-dependent lookup,
// for types the user cannot change.
template <class T>
concept HasFreeSerialize = requires(T& t, ProbeArchive& ar) {
  serialize(ar, t);
};
template <class T>
concept HasFreeSaveLoad = requires(const T& ct, T& t, ProbeArchive& ar) {
  save(ar, ct);
  load(ar, t);
};

// How a (cv-unqualified, non-reference) type crosses the boundary. The standard templates come
// first: std::optional<int> and std::variant<int, float> are trivially copyable, but copying
// their bytes would let a hostile peer set the engaged flag or index to any value.
enum class Kind {
  none,      // not transferable
  boolean,   // one byte, 0 or 1 (any other byte would be UB to read)
  bitwise,   // trivially copyable: its object bytes, one memcpy; empty types: zero bytes
  string,    // uint64 length, then the characters
  vector,    // uint64 count, then the elements (one memcpy when they are bitwise)
  array,     // std::array / C array: the elements, no count
  pair,      // first, second
  tuple,     // the elements in order
  optional,  // one byte "nullopt" (1: empty, 0: engaged, as cereal), then the value
  variant,   // int32 index, then the alternative
  map,       // uint64 count, then key, value, key, value...
  set,       // uint64 count, then the keys
  user_serialize,
  user_save_load,
};

template <class T>
consteval Kind kind_of();

template <class T>
consteval bool is_bitwise() {
  return kind_of<T>() == Kind::bitwise;
}

template <class T>
consteval Kind kind_of() {
  if constexpr (std::is_reference_v<T> || std::is_const_v<T> || std::is_volatile_v<T>) {
    return Kind::none;
  } else if constexpr (std::is_same_v<T, bool>) {
    return Kind::boolean;
  } else if constexpr (is_basic_string<T>::value) {
    return is_bitwise<typename T::value_type>() ? Kind::string : Kind::none;
  } else if constexpr (is_vector<T>::value) {
    return Kind::vector;
  } else if constexpr (is_std_array<T>::value) {
    return Kind::array;
  } else if constexpr (std::is_bounded_array_v<T>) {
    return is_bitwise<std::remove_extent_t<T>>() ? Kind::bitwise : Kind::array;
  } else if constexpr (is_pair<T>::value) {
    return Kind::pair;
  } else if constexpr (is_tuple<T>::value) {
    return Kind::tuple;
  } else if constexpr (is_optional<T>::value) {
    return Kind::optional;
  } else if constexpr (is_variant<T>::value) {
    return Kind::variant;
  } else if constexpr (is_map<T>::value) {
    return Kind::map;
  } else if constexpr (is_set<T>::value) {
    return Kind::set;
  } else if constexpr (HasMemberSerialize<T> || HasFreeSerialize<T>) {
    return Kind::user_serialize;
  } else if constexpr (HasMemberSaveLoad<T> || HasFreeSaveLoad<T>) {
    return Kind::user_save_load;
  } else if constexpr (std::is_trivially_copyable_v<T> && !std::is_array_v<T>) {
    return Kind::bitwise;
  } else {
    return Kind::none;
  }
}

// Whether T is transferable, recursing into the standard containers. A user type with
// serialize() counts as transferable here; its members are checked when serialize() is
// instantiated with a real archive.
template <class T>
consteval bool is_transferable() {
  constexpr Kind k = kind_of<T>();
  if constexpr (k == Kind::none) {
    return false;
  } else if constexpr (k == Kind::vector || k == Kind::set || k == Kind::optional) {
    return is_transferable<typename T::value_type>();
  } else if constexpr (k == Kind::array) {
    if constexpr (std::is_array_v<T>) {
      return is_transferable<std::remove_extent_t<T>>();
    } else {
      return is_transferable<typename T::value_type>();
    }
  } else if constexpr (k == Kind::pair) {
    return is_transferable<typename T::first_type>() && is_transferable<typename T::second_type>();
  } else if constexpr (k == Kind::map) {
    return is_transferable<typename T::key_type>() && is_transferable<typename T::mapped_type>();
  } else if constexpr (k == Kind::tuple || k == Kind::variant) {
    return []<template <class...> class L, class... Ts>(std::type_identity<L<Ts...>>) {
      return (is_transferable<Ts>() && ...);
    }(std::type_identity<T>{});
  } else {
    return true;
  }
}

// The fewest bytes any value of T encodes to; 0 when unknown (user types) or truly zero (empty
// types). The decoder uses it to reject a count before allocating for it.
template <class T>
consteval std::size_t min_encoded_size() {
  constexpr Kind k = kind_of<T>();
  if constexpr (k == Kind::boolean || k == Kind::optional) {
    return 1;
  } else if constexpr (k == Kind::bitwise) {
    return std::is_empty_v<T> ? 0 : sizeof(T);
  } else if constexpr (k == Kind::string || k == Kind::vector || k == Kind::map || k == Kind::set) {
    return sizeof(std::uint64_t);
  } else if constexpr (k == Kind::array) {
    if constexpr (std::is_array_v<T>) {
      return std::extent_v<T> * min_encoded_size<std::remove_extent_t<T>>();
    } else {
      return std::tuple_size_v<T> * min_encoded_size<typename T::value_type>();
    }
  } else if constexpr (k == Kind::pair) {
    return min_encoded_size<typename T::first_type>() + min_encoded_size<typename T::second_type>();
  } else if constexpr (k == Kind::tuple) {
    return []<class... Ts>(std::type_identity<std::tuple<Ts...>>) {
      return (std::size_t{0} + ... + min_encoded_size<Ts>());
    }(std::type_identity<T>{});
  } else if constexpr (k == Kind::variant) {
    return []<class... Ts>(std::type_identity<std::variant<Ts...>>) {
      std::size_t m = SIZE_MAX;
      ((m = min_encoded_size<Ts>() < m ? min_encoded_size<Ts>() : m), ...);
      return sizeof(std::int32_t) + m;
    }(std::type_identity<T>{});
  } else {
    return 0;
  }
}

// The type's name as the compiler spells it, for error messages.
template <class T>
constexpr std::string_view type_name() {
  std::string_view p = __PRETTY_FUNCTION__;
  std::size_t b = p.find("T = ");
  if (b == std::string_view::npos) return "?";
  b += 4;
#if defined(__clang__)
  std::size_t e = p.rfind(']');
#else
  std::size_t e = p.find(';', b);
  if (e == std::string_view::npos) e = p.rfind(']');
#endif
  return p.substr(b, e - b);
}

}  // namespace mproc::detail

namespace mproc {

// T (ignoring const and references) can be sent to another process: trivially copyable, a
// standard container of transferable types, or a class with a cereal-style serialize(Ar&) member
// (or save(Ar&) const + load(Ar&)). See API.md "What can cross a process boundary".
template <class T>
concept Transferable = detail::is_transferable<std::remove_cvref_t<T>>();

}  // namespace mproc
