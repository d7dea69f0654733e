// The typed halves of a pool call: how a task function is named across the fork (and, for a
// spawned worker, across an exec), the invokers that run one item in a worker, and the Batches
// that collect results in the parent.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <new>
#include <deque>
#include <exception>
#include <functional>
#include <limits>
#include <optional>
#include <ranges>
#include <span>
#include <stop_token>
#include <tuple>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

#include "mproc/codec.hpp"
#include "mproc/detail/pool_core.hpp"
#include "mproc/detail/remote_call.hpp"
#include "mproc/error.hpp"
#include "mproc/soft_timeout.hpp"

namespace mproc {

// One item's outcome: its value, or the error it raised (RemoteError, WorkerCrashed,
// TaskTimeout, DecodeError, Cancelled).
template <class R>
class Result {
 public:
  explicit Result(R value) : v_(std::in_place_index<0>, std::move(value)) {}
  explicit Result(std::exception_ptr error) : v_(std::in_place_index<1>, std::move(error)) {}
  [[nodiscard]] bool ok() const noexcept { return v_.index() == 0; }
  explicit operator bool() const noexcept { return ok(); }
  // The value; rethrows the item's error if it failed.
  [[nodiscard]] R& value() & {
    if (!ok()) std::rethrow_exception(std::get<1>(v_));
    return std::get<0>(v_);
  }
  [[nodiscard]] const R& value() const& {
    if (!ok()) std::rethrow_exception(std::get<1>(v_));
    return std::get<0>(v_);
  }
  [[nodiscard]] R&& value() && { return std::move(value()); }
  // The error (null when ok()).
  [[nodiscard]] std::exception_ptr error() const noexcept {
    return ok() ? nullptr : std::get<1>(v_);
  }

 private:
  std::variant<R, std::exception_ptr> v_;
};

template <>
class Result<void> {
 public:
  Result() = default;
  explicit Result(std::exception_ptr error) : e_(std::move(error)) {}
  [[nodiscard]] bool ok() const noexcept { return e_ == nullptr; }
  explicit operator bool() const noexcept { return ok(); }
  void value() const {
    if (e_) std::rethrow_exception(e_);
  }
  [[nodiscard]] std::exception_ptr error() const noexcept { return e_; }

 private:
  std::exception_ptr e_{};
};

namespace detail {

// --- naming the task function across the fork -------------------------------------------------

template <class F>
inline constexpr bool is_function_pointer_v =
    std::is_pointer_v<F> && std::is_function_v<std::remove_pointer_t<F>>;

// A task function crosses to the worker as an address (a function pointer: under fork, the
// worker has the same code at the same place; spawned workers translate it), as nothing at all
// (a stateless function object, such as a captureless lambda, rebuilt in the worker with F{}),
// or as its state (a closure: trivially copyable captures are copied as bytes, a class with a
// serialize() member is encoded with the codec), sent with each chunk of the call.
template <class F>
inline constexpr bool is_closure_task_v = !is_function_pointer_v<F> &&
                                          (remote_fn_kind<F>() == RemoteFnKind::bitwise ||
                                           remote_fn_kind<F>() == RemoteFnKind::serialized);

template <class F>
consteval bool check_task_function() {
  static_assert(is_function_pointer_v<F> || remote_fn_kind<F>() == RemoteFnKind::empty ||
                    is_closure_task_v<F>,
                "mproc::Pool: the task must be a function (pointer), a captureless lambda, or a "
                "closure whose captures are transferable by value (trivially copyable, or a "
                "class with a serialize() member). A lambda capturing a std::string or a "
                "std::function is none of these: capture nothing and pass the values as task "
                "arguments, or put large shared state in the initializer or shared memory.");
  return true;
}

template <class F>
std::uintptr_t fn_word(const F& f) {
  if constexpr (is_function_pointer_v<F>) {
    return reinterpret_cast<std::uintptr_t>(f);
  } else {
    return 0;  // empty: nothing to name; a closure: its state travels with the chunks
  }
}

// The closure's state as the chunks carry it (empty for a function or a stateless object).
// Capture values, not references: an address captured here means nothing in the worker.
template <class F>
std::vector<std::byte> closure_bytes(const F& f) {
  if constexpr (!is_closure_task_v<F>) {
    return {};
  } else if constexpr (remote_fn_kind<F>() == RemoteFnKind::bitwise) {
    std::vector<std::byte> out(sizeof(F));
    std::memcpy(out.data(), std::addressof(f), sizeof(F));
    return out;
  } else {
    return encode(f);
  }
}

template <class F>
void attach_closure(Batch& b, const F& f) {
  if constexpr (is_closure_task_v<F>) b.set_closure(closure_bytes(f));
}

template <class F>
F fn_from_word(std::uintptr_t w) {
  if constexpr (is_function_pointer_v<F>) {
    return reinterpret_cast<F>(w);
  } else if constexpr (!is_closure_task_v<F>) {
    return F{};
  } else {
    const auto* c = reinterpret_cast<const ClosureBytes*>(w);
    if constexpr (remote_fn_kind<F>() == RemoteFnKind::bitwise) {
      if (c == nullptr || c->size != sizeof(F)) {
        throw DecodeError("mproc::Pool: a closure's state of the wrong size");
      }
      alignas(F) std::byte buf[sizeof(F)];
      std::memcpy(buf, c->data, sizeof(F));
      return *std::launder(reinterpret_cast<F*>(buf));
    } else {
      if (c == nullptr) throw DecodeError("mproc::Pool: a closure's state is missing");
      return decode<F>(std::span<const std::byte>(c->data, c->size));
    }
  }
}

// --- running one item in the worker -----------------------------------------------------------

template <class T>
inline constexpr bool is_packed_v = is_bitwise<T>() && !std::is_empty_v<T>;

template <class R>
void put_result(ResultSink& out, const R& r) {
  if constexpr (is_packed_v<R>) {
    out.put_packed(std::addressof(r), sizeof(R));
  } else {
    const std::size_t n = encoded_size(r);
    auto buf = out.reserve(n);
    out.commit(encode_into(buf, r));
  }
}

// decode<T> for one item's arguments, with the packed case inlined.
template <class T>
T decode_item(std::span<const std::byte> bytes) {
  if constexpr (is_packed_v<T> && std::is_default_constructible_v<T>) {
    if (bytes.size() != sizeof(T)) return decode<T>(bytes);  // throws the usual DecodeError
    T v;
    std::memcpy(std::addressof(v), bytes.data(), sizeof(T));
    return v;
  } else {
    return decode<T>(bytes);
  }
}

// A task may take a std::stop_token as its last parameter (soft_timeout.hpp): the pool passes the
// running item's; the call's inputs do not include it. A task callable either way gets none.
template <class F, class... A>
inline constexpr bool takes_stop_token_v =
    !std::is_invocable_v<F&, A...> && std::is_invocable_v<F&, A..., std::stop_token>;

template <class F, class... A>
decltype(auto) invoke_task(F& f, A&&... a) {
  if constexpr (takes_stop_token_v<F, A...>) {
    return std::invoke(f, std::forward<A>(a)..., current_stop_token());
  } else {
    return std::invoke(f, std::forward<A>(a)...);
  }
}

template <class F, class... A>
using task_result_t =
    std::remove_cvref_t<decltype(invoke_task(std::declval<F&>(), std::declval<A>()...))>;

template <class F, class Tuple, std::size_t... I>
auto apply_result_of(std::index_sequence<I...>)
    -> task_result_t<F, decltype(std::get<I>(std::declval<Tuple>()))...>;
// f's result for the arguments in Tuple, a tuple-like (starmap, apply), as std::apply calls it.
template <class F, class Tuple>
using apply_result_t = decltype(apply_result_of<F, std::remove_cvref_t<Tuple>>(
    std::make_index_sequence<std::tuple_size_v<std::remove_cvref_t<Tuple>>>{}));

template <class F, class Tuple>
decltype(auto) apply_task(F& f, Tuple&& t) {
  return std::apply([&f](auto&&... a) -> decltype(auto) {
    return invoke_task(f, std::forward<decltype(a)>(a)...);
  }, std::forward<Tuple>(t));
}

template <class R>
void check_result_type() {
  static_assert(std::is_void_v<R> || Transferable<R>,
                "mproc::Pool: the task's return type must be transferable (see codec.hpp)");
}

// map/imap: the item is one encoded argument.
template <class F, class T>
void invoke_one(std::uintptr_t w, std::span<const std::byte> args, ResultSink& out) {
  F f = fn_from_word<F>(w);
  using R = task_result_t<F, T&&>;
  if constexpr (!is_packed_v<T>) {
    // Decoding takes time worth telling from the call's (a packed one is a memcpy).
    T arg = decode_item<T>(args);
    out.decoded();
    if constexpr (std::is_void_v<R>) {
      invoke_task(f, std::move(arg));
      out.reserve(0);
      out.commit(0);
    } else {
      put_result<R>(out, invoke_task(f, std::move(arg)));
    }
  } else if constexpr (std::is_void_v<R>) {
    invoke_task(f, decode_item<T>(args));
    out.reserve(0);
    out.commit(0);
  } else {
    put_result<R>(out, invoke_task(f, decode_item<T>(args)));
  }
}

// map/imap of a packed T to a packed R: a run of items per call.
template <class F, class T, class R>
void invoke_chunk(std::uintptr_t w, const std::byte* in, std::size_t count, PackedRun& run) {
  F f = fn_from_word<F>(w);
  for (std::size_t j = 0; j < count; ++j) {
    run.items_started->store(run.started_base + j + 1, std::memory_order_relaxed);
    alignas(T) std::byte arg[sizeof(T)];
    std::memcpy(arg, in + j * sizeof(T), sizeof(T));
    const R r = invoke_task(f, std::move(*std::launder(reinterpret_cast<T*>(arg))));
    std::memcpy(run.out + j * sizeof(R), std::addressof(r), sizeof(R));
    run.run_items->store(static_cast<std::uint32_t>(j + 1), std::memory_order_relaxed);
  }
}

// f over T has the packed fast path: T and the result are fixed-size bitwise types.
template <class F, class T>
consteval bool has_chunk_invoker() {
  using R = task_result_t<F, T&&>;
  if constexpr (std::is_void_v<R>) {
    return false;
  } else {
    return is_packed_v<T> && is_packed_v<R> && std::is_trivially_copyable_v<T>;
  }
}

// The ChunkInvoker of f over T, or null.
template <class F, class T>
ChunkInvoker chunk_invoker_of() noexcept {
  if constexpr (has_chunk_invoker<F, T>()) {
    return &invoke_chunk<F, T, task_result_t<F, T&&>>;
  } else {
    return nullptr;
  }
}

// Gives a map-like batch of f over T the packed fast path when T and the result allow it.
template <class F, class T>
void enable_chunk_invoker(Batch& b) {
  if constexpr (has_chunk_invoker<F, T>()) {
    b.set_chunk_invoker(chunk_invoker_of<F, T>(),
                        static_cast<std::uint32_t>(sizeof(task_result_t<F, T&&>)));
  }
}

// starmap/apply: the item is an encoded tuple of arguments.
template <class F, class Tuple>
void invoke_apply(std::uintptr_t w, std::span<const std::byte> args, ResultSink& out) {
  F f = fn_from_word<F>(w);
  Tuple t = decode<Tuple>(args);
  out.decoded();
  using R = apply_result_t<F, Tuple>;
  if constexpr (std::is_void_v<R>) {
    apply_task(f, std::move(t));
    out.reserve(0);
    out.commit(0);
  } else {
    put_result<R>(out, apply_task(f, std::move(t)));
  }
}

// --- naming the call for a spawned worker ------------------------------------------------------

// A spawned worker runs this executable at other addresses, so the parent's invoker and function
// pointers mean nothing there. Once per worker and call, the parent sends a remote_call message
// (remote_call.hpp: names as {module, offset}, checked on arrival) whose trampoline, run in the
// worker, answers the worker's own addresses of the call's invokers and function. Chunks keep
// carrying the parent's addresses, which the worker translates: fork's path is untouched.
struct RemoteBinding {
  std::uint64_t invoker;        // ItemInvoker
  std::uint64_t fn;             // the function pointer, 0 for a stateless function object
  std::uint64_t chunk_invoker;  // ChunkInvoker, or 0
};

template <class F, class T, bool Apply>
struct PoolBindSignature {};

template <class F, class T, bool Apply>
void pool_bind_trampoline(const void* fn_address, std::span<const std::byte> payload,
                          std::vector<std::byte>* result) {
  if (!payload.empty()) throw DecodeError("mproc: a pool binding message carries a payload");
  RemoteBinding b{};
  if constexpr (Apply) {
    b.invoker = reinterpret_cast<std::uint64_t>(&invoke_apply<F, T>);
  } else {
    b.invoker = reinterpret_cast<std::uint64_t>(&invoke_one<F, T>);
    b.chunk_invoker = reinterpret_cast<std::uint64_t>(chunk_invoker_of<F, T>());
  }
  b.fn = reinterpret_cast<std::uint64_t>(fn_address);
  if (result != nullptr) {
    const auto* p = reinterpret_cast<const std::byte*>(&b);
    result->insert(result->end(), p, p + sizeof b);
  }
}

template <class F, class T, bool Apply>
inline constexpr RemoteEntry pool_bind_entry{
    kRemoteEntryMagic,
    remote_signature_hash(type_name<PoolBindSignature<F, T, Apply>>()),
    &pool_bind_trampoline<F, T, Apply>,
    is_function_pointer_v<F>,
    true,
};

// RemoteBinder of f over T (map-like) or over a tuple T (Apply: starmap, apply). Throws
// mproc::Error if f is a null function pointer or lies in no loaded module.
template <class F, class T, bool Apply>
std::vector<std::byte> pool_bind_message(std::uintptr_t fn) {
  if constexpr (is_function_pointer_v<F>) {
    if (fn == 0) throw_null_function_pointer();
  }
  return begin_remote_message(pool_bind_entry<F, T, Apply>, reinterpret_cast<const void*>(fn),
                              0);
}

// Readies a map-like batch of f over T: the packed fast path and the spawned workers' binding.
template <class F, class T>
void prepare_one(Batch& b) {
  enable_chunk_invoker<F, T>(b);
  b.set_remote_binder(&pool_bind_message<F, T, false>);
}

// Readies a starmap / apply batch of f over a Tuple of arguments.
template <class F, class Tuple>
void prepare_apply(Batch& b) {
  b.set_remote_binder(&pool_bind_message<F, Tuple, true>);
}

// What a replay file (replay.hpp) records of a call's types: the encoded item type T and, for a
// closure task, the closure's type (its state is saved with the input).
template <class F, class T>
ReplayTypes replay_types_of(std::uint32_t kind) noexcept {
  ReplayTypes r{};
  r.kind = kind;
  r.args_name = type_name<T>();
  r.args_fingerprint = remote_signature_hash(type_name<T>());
  if constexpr (is_closure_task_v<F>) r.closure_fingerprint = remote_signature_hash(type_name<F>());
  return r;
}

// --- encoding inputs ---------------------------------------------------------------------------

// Appends one item. A segment holds items of one type: packed if that type is fixed-size
// bitwise, length-delimited otherwise.
template <class T>
void append_item(Segment& seg, const T& value) {
  if constexpr (is_packed_v<T>) {
    seg.stride = sizeof(T);
    const std::size_t at = seg.bytes.size();
    seg.bytes.resize(at + sizeof(T));
    std::memcpy(seg.bytes.data() + at, std::addressof(value), sizeof(T));
  } else {
    encode_to(seg.bytes, value);
    seg.offsets.push_back(seg.bytes.size());
  }
}

// Encodes a whole input range and submits it to `core` in segments of growing size, so the
// workers start while the rest is being encoded. Returns the number of items.
template <class In>
std::size_t submit_range(PoolCore& core, const std::shared_ptr<Batch>& batch, In& inputs) {
  using T = std::ranges::range_value_t<In>;
  std::size_t expected = 0;
  if constexpr (std::ranges::sized_range<In>) expected = std::ranges::size(inputs);
  if constexpr (is_packed_v<T> && std::ranges::contiguous_range<In> &&
                std::ranges::sized_range<In> &&
                std::is_same_v<std::remove_cvref_t<std::ranges::range_reference_t<In>>, T>) {
    // A vector or array of packed items: one copy of its bytes, one segment.
    auto seg = std::make_shared<Segment>();
    seg->stride = sizeof(T);
    const auto* bytes = reinterpret_cast<const std::byte*>(std::ranges::data(inputs));
    if (expected != 0) seg->bytes.assign(bytes, bytes + expected * sizeof(T));
    try {
      core.submit(batch, std::move(seg), true, expected);
    } catch (...) {
      core.abandon(*batch);
      throw;
    }
    return expected;
  }
  std::size_t index = 0;   // input index of the current segment's first item
  // Items in the first segment. Packed items cost a memcpy each: one segment for all of them;
  // others are encoded while the workers start on the first few hundred.
  std::size_t want = is_packed_v<T> && expected != 0 ? expected : 256;
  std::size_t filled = 0;  // packed items written into the current segment
  auto seg = std::make_shared<Segment>();
  auto start_segment = [&] {
    if constexpr (is_packed_v<T>) {
      seg->stride = sizeof(T);
      seg->bytes.resize(want * sizeof(T));
      filled = 0;
    }
  };
  auto segment_size = [&] {
    if constexpr (is_packed_v<T>) {
      return filled;
    } else {
      return seg->size();
    }
  };
  start_segment();
  try {
  for (auto&& x : inputs) {
    if constexpr (is_packed_v<T>) {
      const T& v = x;
      std::memcpy(seg->bytes.data() + filled * sizeof(T), std::addressof(v), sizeof(T));
      ++filled;
    } else {
      append_item<T>(*seg, x);
    }
    if (segment_size() == want) {
      index += want;
      core.submit(batch, std::move(seg), false, expected);
      seg = std::make_shared<Segment>();
      seg->first_index = index;
      want *= 4;
      start_segment();
    }
  }
  if constexpr (is_packed_v<T>) seg->bytes.resize(filled * sizeof(T));
  index += segment_size();
  core.submit(batch, std::move(seg), true, expected);
  } catch (...) {
    // An input that cannot be encoded (or is too large) fails the call now; what was already
    // handed out is withdrawn where it has not started.
    core.abandon(*batch);
    throw;
  }
  return index;
}

// --- collecting results in the parent ---------------------------------------------------------

template <class R>
R decode_result(std::span<const std::byte> bytes) {
  if constexpr (std::is_void_v<R>) {
    if (!bytes.empty()) throw DecodeError("a void task sent a non-empty result");
  } else {
    return decode<R>(bytes);
  }
}

// A call whose caller eventually takes one value: apply_async (T = R) and map_async
// (T = std::vector<R>).
template <class T>
class FutureBatch : public Batch {
 public:
  using Batch::Batch;
  // The value, or rethrows; called once the batch finished.
  virtual T take() = 0;
};

// map, starmap, map_async: every value in input order; the lowest index's error wins.
template <class R>
class CollectBatch final
    : public FutureBatch<std::conditional_t<std::is_void_v<R>, void, std::vector<R>>> {
  using Out = std::conditional_t<std::is_void_v<R>, void, std::vector<R>>;
  // Values land in place when R can be default-constructed (no second pass in take()).
  static constexpr bool kDirect = std::is_default_constructible_v<R>;
  struct Empty {};
  using Store = std::conditional_t<std::is_void_v<R>, Empty,
                                   std::conditional_t<kDirect, std::vector<R>,
                                                      std::vector<std::optional<R>>>>;

 public:
  CollectBatch(ItemInvoker inv, std::uintptr_t fn, std::size_t chunksize, std::size_t n)
      : FutureBatch<Out>(inv, fn, chunksize) {
    if constexpr (!std::is_void_v<R>) values_.resize(n);
  }
  void on_value(std::size_t index, std::span<const std::byte> bytes) override {
    if constexpr (std::is_void_v<R>) {
      decode_result<void>(bytes);
    } else {
      if (index >= values_.size()) values_.resize(index + 1);
      if constexpr (kDirect) {
        values_[index] = decode<R>(bytes);
      } else {
        values_[index].emplace(decode<R>(bytes));
      }
    }
  }
  void on_error(std::size_t index, std::exception_ptr error) override {
    if (index < error_index_) {
      error_index_ = index;
      error_ = std::move(error);
    }
  }
  bool on_packed(std::size_t first, std::size_t count, std::size_t stride,
                 std::span<const std::byte> bytes) override {
    if constexpr (is_packed_v<R> && kDirect) {
      if (stride == sizeof(R) && bytes.size() == count * stride) {
        if (first + count > values_.size()) values_.resize(first + count);
        std::memcpy(values_.data() + first, bytes.data(), bytes.size());
        return true;
      }
    }
    return false;
  }
  Out take() override {
    if (error_) std::rethrow_exception(error_);
    if constexpr (!std::is_void_v<R>) {
      if constexpr (kDirect) {
        return std::move(values_);
      } else {
        std::vector<R> out;
        out.reserve(values_.size());
        for (auto& v : values_) out.push_back(std::move(*v));
        return out;
      }
    }
  }

 private:
  Store values_{};
  std::size_t error_index_ = std::numeric_limits<std::size_t>::max();
  std::exception_ptr error_{};
};

// try_map: every item's Result.
template <class R>
class TryBatch final : public Batch {
 public:
  TryBatch(ItemInvoker inv, std::uintptr_t fn, std::size_t chunksize, std::size_t n)
      : Batch(inv, fn, chunksize), results_(n) {}
  void on_value(std::size_t index, std::span<const std::byte> bytes) override {
    if (index >= results_.size()) results_.resize(index + 1);
    if constexpr (std::is_void_v<R>) {
      decode_result<void>(bytes);
      results_[index].emplace();
    } else {
      results_[index].emplace(decode<R>(bytes));
    }
  }
  void on_error(std::size_t index, std::exception_ptr error) override {
    if (index >= results_.size()) results_.resize(index + 1);
    results_[index].emplace(std::move(error));
  }
  // Called once all n items completed.
  std::vector<Result<R>> take(std::size_t n) {
    results_.resize(n);
    std::vector<Result<R>> out;
    out.reserve(results_.size());
    for (auto& r : results_) out.push_back(std::move(*r));
    return out;
  }

 private:
  std::vector<std::optional<Result<R>>> results_;
};

// apply, apply_async: one value.
template <class R>
class ApplyBatch final : public FutureBatch<R> {
 public:
  using FutureBatch<R>::FutureBatch;
  void on_value(std::size_t, std::span<const std::byte> bytes) override {
    if constexpr (std::is_void_v<R>) {
      decode_result<void>(bytes);
    } else {
      value_.emplace(decode<R>(bytes));
    }
  }
  void on_error(std::size_t, std::exception_ptr error) override { error_ = std::move(error); }
  R take() override {
    if (error_) std::rethrow_exception(error_);
    if constexpr (!std::is_void_v<R>) {
      if (!value_) throw Error("mproc::Future: the value was already taken");
      R out = std::move(*value_);
      value_.reset();
      return out;
    }
  }

 private:
  struct Empty {};
  std::conditional_t<std::is_void_v<R>, Empty, std::optional<R>> value_{};
  std::exception_ptr error_{};
};

// imap, imap_unordered: results wait here until the consumer takes them.
template <class R>
class StreamBatch final : public Batch {
 public:
  StreamBatch(ItemInvoker inv, std::uintptr_t fn, std::size_t chunksize, bool ordered)
      : Batch(inv, fn, chunksize), ordered_(ordered) {}
  [[nodiscard]] bool wants_each_result() const noexcept override { return true; }
  void on_value(std::size_t index, std::span<const std::byte> bytes) override {
    store(index, Result<R>(decode<R>(bytes)));
  }
  void on_error(std::size_t index, std::exception_ptr error) override {
    store(index, Result<R>(std::move(error)));
  }
  // The next result to yield (in input order when ordered), if it arrived.
  // Moves every result that may be yielded now (in input order when ordered) to `out`.
  // Returns how many.
  std::size_t take_ready(std::deque<Result<R>>& out) {
    std::size_t n = 0;
    if (ordered_) {
      for (auto it = by_index_.find(next_); it != by_index_.end(); it = by_index_.find(next_)) {
        out.push_back(std::move(it->second));
        by_index_.erase(it);
        ++next_;
        ++n;
      }
    } else {
      n = arrived_.size();
      for (auto& r : arrived_) out.push_back(std::move(r));
      arrived_.clear();
    }
    return n;
  }

 private:
  void store(std::size_t index, Result<R> r) {
    if (ordered_) {
      by_index_.emplace(index, std::move(r));
    } else {
      arrived_.push_back(std::move(r));
    }
  }
  bool ordered_;
  std::size_t next_ = 0;
  std::unordered_map<std::size_t, Result<R>> by_index_{};
  std::deque<Result<R>> arrived_{};
};

// --- a call's batch, for mproc::Pool and mproc::mpi::Pool ------------------------------------

// The input count of a sized range (0: unknown), to size a call's result storage.
template <class In>
std::size_t size_hint(In& inputs) {
  if constexpr (std::ranges::sized_range<In>) {
    return static_cast<std::size_t>(std::ranges::size(inputs));
  } else {
    return 0;
  }
}

// The batch of a call running f on one T per item (map, try_map, imap, map_async): B<R> for f's
// result R, with f's invoker, the packed path, the spawned workers' binding and a closure's
// state. `args` follow (invoker, fn) in B's constructor.
template <template <class> class B, class F, class T, class... A>
auto one_arg_batch(const F& f, A... args) {
  using R = task_result_t<F, T&&>;
  check_result_type<R>();
  auto b = std::make_shared<B<R>>(&invoke_one<F, T>, fn_word<F>(f), args...);
  prepare_one<F, T>(*b);
  attach_closure<F>(*b, f);
  b->set_replay_types(replay_types_of<F, T>(ReplayTypes::kOne));
  return b;
}

// The same for a call running f on a tuple of arguments per item (starmap, apply_async).
template <template <class> class B, class F, class Tuple, class... A>
auto tuple_arg_batch(const F& f, A... args) {
  using R = apply_result_t<F, Tuple>;
  check_result_type<R>();
  auto b = std::make_shared<B<R>>(&invoke_apply<F, Tuple>, fn_word<F>(f), args...);
  prepare_apply<F, Tuple>(*b);
  attach_closure<F>(*b, f);
  b->set_replay_types(replay_types_of<F, Tuple>(ReplayTypes::kTuple));
  return b;
}

}  // namespace detail
}  // namespace mproc
