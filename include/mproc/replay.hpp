// mproc/replay.hpp — runs a pool item that crashed its worker or timed out again, in this
// process, so that it can be debugged under gdb, ASan or a profiler.
//
//   mproc::Pool pool(mproc::PoolOptions{.replay_dir = "/tmp/replays"});  // or MPROC_REPLAY_DIR
//   try { pool.map(parse, files); }
//   catch (const mproc::WorkerCrashed& e) { mproc::replay(e.replay_file(), parse); }
//
// With PoolOptions::replay_dir (or the MPROC_REPLAY_DIR environment variable), the parent saves
// the encoded input of every item that fails with WorkerCrashed or TaskTimeout (not RemoteError,
// not one a retry then ran) to a new file there (mode 0600, named
// mproc-replay-<pid>-<call>-<index>.bin), and the error's replay_file() names it. The file holds
// the input as the worker got it, the name and a fingerprint of its type, and a closure task's
// state. replay(file, f) decodes it and calls f on it here (f's std::stop_token, if it takes
// one, never stops), returning f's result.
//
// The file is for the same build of the same program: a file for other argument types, a
// truncated, corrupt or foreign one is an mproc::Error naming what is wrong (never a crash: the
// parser is fuzzed, fuzz/replay_fuzz.cpp). The argument types come from f's parameters when f is
// a function or a non-generic lambda; name them otherwise: mproc::replay<std::string>(file, f),
// and for starmap/apply items all of them: mproc::replay<int, std::string>(file, f). A closure
// task of the same type as the pool call's gets the captured state saved in the file; any other
// f is called as given. Thread-safe; no other process is involved.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <stop_token>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "mproc/codec.hpp"
#include "mproc/detail/pool_batch.hpp"
#include "mproc/error.hpp"

namespace mproc {

namespace detail {

// One replay file, parsed and checked (magic, version, sizes, checksum).
struct ReplayRecord {
  std::uint32_t kind = 0;  // ReplayTypes::kOne or kTuple
  std::uint64_t args_fingerprint = 0;
  std::uint64_t closure_fingerprint = 0;
  std::uint64_t index = 0;  // the item's input index in its call
  std::string args_name{};
  std::vector<std::byte> closure{};
  std::vector<std::byte> input{};
};

// The file's bytes for one item.
[[nodiscard]] std::vector<std::byte> format_replay(const ReplayTypes& types, std::uint64_t index,
                                                   std::span<const std::byte> closure,
                                                   std::span<const std::byte> input);
// Throws mproc::Error (`source` names the file in the message) unless `bytes` is a whole,
// intact replay file.
[[nodiscard]] ReplayRecord parse_replay(std::span<const std::byte> bytes,
                                        std::string_view source = "replay data");
[[nodiscard]] ReplayRecord read_replay(const std::filesystem::path& file);
// Rewrites the checksum of a formatted file after its body changed (for the fuzzer).
void reseal_replay(std::span<std::byte> bytes) noexcept;
[[noreturn]] void throw_replay_mismatch(const ReplayRecord& rec, std::string_view wanted,
                                        std::string_view source);

template <class... P>
struct TypeList {};

template <class Sig>
struct SigParams {
  static constexpr bool known = false;
};
template <class R, class... P>
struct SigParams<R(P...)> {
  static constexpr bool known = true;
  using type = TypeList<P...>;
};
template <class R, class... P>
struct SigParams<R(P...) noexcept> : SigParams<R(P...)> {};
template <class M>
struct MemberSig {
  static constexpr bool known = false;
};
template <class R, class C, class... P>
struct MemberSig<R (C::*)(P...)> : SigParams<R(P...)> {};
template <class R, class C, class... P>
struct MemberSig<R (C::*)(P...) const> : SigParams<R(P...)> {};
template <class R, class C, class... P>
struct MemberSig<R (C::*)(P...) noexcept> : SigParams<R(P...)> {};
template <class R, class C, class... P>
struct MemberSig<R (C::*)(P...) const noexcept> : SigParams<R(P...)> {};

// The parameters of a function (pointer) or of a class with one non-template operator().
template <class F, class = void>
struct CallableParams {
  static constexpr bool known = false;
};
template <class F>
struct CallableParams<F, std::enable_if_t<std::is_function_v<std::remove_pointer_t<F>>>>
    : SigParams<std::remove_pointer_t<F>> {};
template <class F>
struct CallableParams<F, std::void_t<decltype(&F::operator())>>
    : MemberSig<decltype(&F::operator())> {};

// The decayed item types of a parameter list: a trailing std::stop_token is the pool's, not an
// input.
template <class L>
struct ItemTypes;
template <class... P>
struct ItemTypes<TypeList<P...>> {
  static constexpr std::size_t n = sizeof...(P);
  static constexpr bool drop = [] {
    if constexpr (n == 0) {
      return false;
    } else {
      return std::is_same_v<std::remove_cvref_t<std::tuple_element_t<n - 1, std::tuple<P...>>>,
                            std::stop_token>;
    }
  }();
  template <std::size_t... I>
  static auto take(std::index_sequence<I...>)
      -> TypeList<std::remove_cvref_t<std::tuple_element_t<I, std::tuple<P...>>>...>;
  using type = decltype(take(std::make_index_sequence<drop ? n - 1 : n>{}));
};

template <class T>
void check_replay_type(const ReplayRecord& rec, std::string_view source) {
  if (rec.args_fingerprint != remote_signature_hash(type_name<T>())) {
    throw_replay_mismatch(rec, type_name<T>(), source);
  }
}

// Calls f (or, for the pool call's own closure type, the closure rebuilt from the saved state)
// on the record's input, decoded as A... .
template <class F, class... A>
auto replay_record(const ReplayRecord& rec, F& f, std::string_view source)
    -> task_result_t<F, A&&...> {
  using R = task_result_t<F, A&&...>;
  auto call = [&](F& g) -> R {
    if (rec.kind == ReplayTypes::kOne) {
      if constexpr (sizeof...(A) == 1) {
        using T = std::tuple_element_t<0, std::tuple<A...>>;
        check_replay_type<T>(rec, source);
        return invoke_task(g, decode_item<T>(rec.input));
      } else {
        throw_replay_mismatch(rec, type_name<std::tuple<A...>>(), source);
      }
    } else {
      using Tuple = std::tuple<A...>;
      if constexpr (sizeof...(A) == 2) {  // starmap over std::pair items
        using Pair = std::pair<A...>;
        if (rec.args_fingerprint == remote_signature_hash(type_name<Pair>())) {
          return apply_task(g, decode<Pair>(rec.input));
        }
      }
      check_replay_type<Tuple>(rec, source);
      return apply_task(g, decode<Tuple>(rec.input));
    }
  };
  if constexpr (is_closure_task_v<F>) {
    if (!rec.closure.empty() &&
        rec.closure_fingerprint == remote_signature_hash(type_name<F>())) {
      const ClosureBytes state{rec.closure.data(), rec.closure.size()};
      F g = fn_from_word<F>(reinterpret_cast<std::uintptr_t>(&state));
      return call(g);
    }
  }
  return call(f);
}

template <class F, class L>
struct Replayer;
template <class F, class... A>
struct Replayer<F, TypeList<A...>> {
  static auto run(const ReplayRecord& rec, F& f, std::string_view source) {
    return replay_record<F, A...>(rec, f, source);
  }
};

}  // namespace detail

// Runs the item saved in `file` through f here; returns f's result, or throws what f throws.
// Throws mproc::Error if the file cannot be read, is not an intact replay file, or holds an
// input of other types than f's (or A...'s).
template <class... A, class F>
auto replay(const std::filesystem::path& file, F&& f) {
  using Fn = std::decay_t<F>;
  Fn fn(std::forward<F>(f));
  const detail::ReplayRecord rec = detail::read_replay(file);
  const std::string source = file.string();
  if constexpr (sizeof...(A) != 0) {
    return detail::replay_record<Fn, A...>(rec, fn, source);
  } else {
    static_assert(detail::CallableParams<Fn>::known,
                  "mproc::replay: f's parameter types cannot be deduced (a generic lambda, an "
                  "overload set): name the argument types, mproc::replay<T>(file, f)");
    using Items = typename detail::ItemTypes<typename detail::CallableParams<Fn>::type>::type;
    return detail::Replayer<Fn, Items>::run(rec, fn, source);
  }
}

}  // namespace mproc
