// mproc/detail/remote_call.hpp — "call fn(args...)" as bytes that another process running this
// executable can run: the child of the spawn and forkserver start methods, which does not share
// this process's memory (API.md "What can cross a process boundary", DESIGN.md 5).
//
//   std::vector<std::byte> msg = detail::encode_remote_call(&work, 42, std::string("x"));
//   // ... send msg to a process started from the same executable (exec of /proc/self/exe) ...
//   detail::run_remote_call(msg);  // there: calls work(42, "x"); exceptions propagate
//
// How: each <F, Args...> has a trampoline that decodes fn and the arguments with the codec and
// calls std::invoke(std::move(fn), std::move(args)...), as Process does. The message names the
// trampoline's static descriptor (and, for a function pointer, the pointer's value) as {module,
// offset from its load base} (src/sys/module_address.hpp), never as a raw address, so ASLR and
// shared libraries loaded at other addresses do not matter. The receiver checks the module's
// build id, that the offset lands in the right kind of segment, and that a descriptor (magic
// and type signature) is really there before calling anything: a message for another binary or
// a tampered one is mproc::Error or mproc::DecodeError, never a jump into garbage.
//
// Task functions (detail::remote_callable): function pointers (their value is translated),
// captureless lambdas and other empty default-constructible callables (nothing is sent; one is
// default-constructed there), closures that are trivially copyable (sent as bytes) or have a
// cereal-style serialize(Ar&) member (sent with the codec). A lambda capturing a std::string, a
// std::function, a member pointer, or a raw pointer argument cannot cross: static_assert.
//
// A call's result is discarded there, unless a KeepResultScope is open around run_remote_call:
// then the result is kept in it as an object (how a pool worker gets its mproc::WorkerState).
//
// Cost: encoding a call of a function pointer in the main program with trivially copyable
// arguments is one allocation (the returned vector) and no syscall. Threads: every function is
// thread-safe. Trust: the receiver trusts the sender as much as its own executable (the message
// picks which of this executable's trampolines runs); it only guards against mismatch and
// corruption.
#pragma once

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <typeinfo>
#include <utility>
#include <vector>

#include "mproc/codec.hpp"
#include "mproc/detail/handle.hpp"
#include "mproc/error.hpp"

namespace mproc::detail {

// How a callable crosses (see the header comment).
enum class RemoteFnKind { none, function_pointer, empty, bitwise, serialized };

template <class F>
consteval RemoteFnKind remote_fn_kind() {
  using D = std::decay_t<F>;
  if constexpr (std::is_pointer_v<D> && std::is_function_v<std::remove_pointer_t<D>>) {
    return RemoteFnKind::function_pointer;
  } else if constexpr (!std::is_class_v<D>) {
    return RemoteFnKind::none;  // member pointers, object pointers, arithmetic
  } else if constexpr (std::is_empty_v<D> && std::is_default_constructible_v<D>) {
    return RemoteFnKind::empty;
  } else if constexpr (kind_of<D>() == Kind::user_serialize ||
                       kind_of<D>() == Kind::user_save_load) {
    return std::is_default_constructible_v<D> ? RemoteFnKind::serialized : RemoteFnKind::none;
  } else if constexpr (kind_of<D>() == Kind::bitwise) {
    return RemoteFnKind::bitwise;
  } else {
    return RemoteFnKind::none;
  }
}

// F (decayed) can be named in another process that does not share this one's memory.
template <class F>
concept remote_callable = remote_fn_kind<F>()
!= RemoteFnKind::none;

// A handle argument (Queue, Lock, Connection, SharedMemory, ...: detail/handle.hpp) crosses as
// its export: description bytes in the message, its fds beside it (SCM_RIGHTS).
template <class A>
concept remote_handle = handle<std::decay_t<A>>;

// A decayed argument can be sent: a handle, or transferable and not a pointer (which would point
// into this process's memory).
template <class A>
concept remote_argument =
    remote_handle<A> ||
    (!std::is_pointer_v<std::decay_t<A>> && !std::is_member_pointer_v<std::decay_t<A>> &&
     is_transferable<std::decay_t<A>>());

// Where the fds of handle arguments go while a call is encoded, and come from while it is run:
// set for the extent of one encode or run by RemoteFdScope, on the calling thread.
struct RemoteFds {
  std::vector<int>* out = nullptr;  // encoding: fds to pass, borrowed from the handles
  std::span<UniqueFd> in{};         // running: the fds that came with the message
  std::size_t next = 0;
};

inline RemoteFds*& current_remote_fds() noexcept {
  thread_local RemoteFds* current = nullptr;
  return current;
}

class RemoteFdScope {
 public:
  explicit RemoteFdScope(std::vector<int>& out) noexcept : saved_(current_remote_fds()) {
    fds_.out = &out;
    current_remote_fds() = &fds_;
  }
  explicit RemoteFdScope(std::span<UniqueFd> in) noexcept : saved_(current_remote_fds()) {
    fds_.in = in;
    current_remote_fds() = &fds_;
  }
  RemoteFdScope(const RemoteFdScope&) = delete;
  RemoteFdScope& operator=(const RemoteFdScope&) = delete;
  ~RemoteFdScope() { current_remote_fds() = saved_; }

 private:
  RemoteFds fds_{};
  RemoteFds* saved_;
};

// A handle, or else the codec's readable static_assert naming the type that cannot cross.
template <class A>
consteval bool assert_remote_argument() {
  if constexpr (remote_handle<A>) {
    return true;
  } else {
    return assert_transferable<std::decay_t<A>>();
  }
}

[[noreturn]] void throw_handle_without_fd_channel();
[[noreturn]] void throw_handle_fds_missing();

// One argument into the message: a handle as {export bytes, fd count} (its fds to the scope's
// list when `collect`), anything else with the codec.
template <class Archive, class A>
void write_remote_argument(Archive& ar, const A& a, bool collect) {
  if constexpr (remote_handle<A>) {
    ExportedHandle e = export_handle(a);
    if (collect) {
      RemoteFds* fds = current_remote_fds();
      if (fds == nullptr || fds->out == nullptr) throw_handle_without_fd_channel();
      fds->out->insert(fds->out->end(), e.fds.begin(), e.fds.end());
    }
    ar.write(e.bytes);
    ar.write(static_cast<std::uint32_t>(e.fds.size()));
  } else {
    ar.write(a);
  }
}

template <class A>
A read_remote_argument(InputArchive& in) {
  if constexpr (remote_handle<A>) {
    auto bytes = in.template read_value<std::vector<std::byte>>();
    const auto count = in.template read_value<std::uint32_t>();
    RemoteFds* fds = current_remote_fds();
    if (fds == nullptr || fds->in.size() - fds->next < count) throw_handle_fds_missing();
    const auto mine = fds->in.subspan(fds->next, count);
    fds->next += count;
    return import_handle<A>(bytes, mine);
  } else {
    return in.template read_value<A>();
  }
}

// A call's result kept as an object in the process that ran the call, instead of being
// discarded (mproc::WorkerState: the state a pool worker's factory returns). Never encoded, so
// its type need not be transferable, nor even movable.
class KeptValue {
 public:
  virtual ~KeptValue() = default;
  [[nodiscard]] virtual const std::type_info& type() const noexcept = 0;
};

template <class T>
class KeptValueOf final : public KeptValue {
 public:
  // value is initialised from make()'s prvalue: no copy, no move.
  template <class Make>
  explicit KeptValueOf(Make&& make) : value(std::forward<Make>(make)()) {}
  [[nodiscard]] const std::type_info& type() const noexcept override { return typeid(T); }
  T value;
};

// Where the next call run through invoke_keeping on this thread puts its result: set for the
// extent of one call by KeepResultScope.
inline std::unique_ptr<KeptValue>*& current_keep_slot() noexcept {
  thread_local std::unique_ptr<KeptValue>* slot = nullptr;
  return slot;
}

class KeepResultScope {
 public:
  explicit KeepResultScope(std::unique_ptr<KeptValue>& slot) noexcept
      : saved_(std::exchange(current_keep_slot(), &slot)) {}
  KeepResultScope(const KeepResultScope&) = delete;
  KeepResultScope& operator=(const KeepResultScope&) = delete;
  ~KeepResultScope() { current_keep_slot() = saved_; }

 private:
  std::unique_ptr<KeptValue>* saved_;
};

// std::invoke(fn, args...), whose result, when a KeepResultScope is open on this thread, is kept
// in its slot (the slot is taken first: a call made inside fn does not take it).
template <class F, class... Args>
void invoke_keeping(F&& fn, Args&&... args) {
  using R = std::invoke_result_t<F, Args...>;
  if constexpr (std::is_void_v<R> || std::is_reference_v<R> || std::is_array_v<R>) {
    std::invoke(std::forward<F>(fn), std::forward<Args>(args)...);
  } else {
    std::unique_ptr<KeptValue>* slot = std::exchange(current_keep_slot(), nullptr);
    if (slot == nullptr) {
      std::invoke(std::forward<F>(fn), std::forward<Args>(args)...);
      return;
    }
    *slot = std::make_unique<KeptValueOf<std::remove_cv_t<R>>>(
        [&]() -> R { return std::invoke(std::forward<F>(fn), std::forward<Args>(args)...); });
  }
}

// encode_remote_call(fn, args...) compiles: fn is a task function, every decayed argument can
// be sent, and std::invoke(F, Args...) works on the decayed, moved copies.
template <class F, class... Args>
concept remote_call_ok = remote_callable<F> &&(remote_argument<Args>&&...) &&
                         std::invocable<std::decay_t<F>, std::decay_t<Args>...>;

template <class F, class... Args>
using remote_result_t = std::invoke_result_t<std::decay_t<F>, std::decay_t<Args>...>;

// encode_remote_task(fn, args...) compiles: remote_call_ok, and the result is void or
// transferable.
template <class F, class... Args>
concept remote_task_ok = remote_call_ok<F, Args...> &&
    (std::is_void_v<remote_result_t<F, Args...>> || is_transferable<remote_result_t<F, Args...>>());

// A trampoline: decodes fn (from fn_address for a function pointer, else from the payload) and
// the arguments from payload, calls, and when result is non-null appends the encoded result.
using RemoteRun = void (*)(const void* fn_address, std::span<const std::byte> payload,
                           std::vector<std::byte>* result);

// The static descriptor a message names. Standard layout; the magic and signature are checked
// before run is called.
struct RemoteEntry {
  std::uint64_t magic;
  std::uint64_t signature;  // hash of the trampoline's type
  RemoteRun run;
  bool fn_pointer;  // the message carries a function pointer's name
  bool returns;     // made by encode_remote_task: run appends the result
};
static_assert(std::is_standard_layout_v<RemoteEntry>);

inline constexpr std::uint64_t kRemoteEntryMagic = 0x6d70726f63526345ull;  // "EcRcorpm"

consteval std::uint64_t remote_signature_hash(std::string_view s) {
  std::uint64_t h = 0xcbf29ce484222325ull;
  for (char c : s) h = (h ^ static_cast<unsigned char>(c)) * 0x100000001b3ull;
  return h;
}

template <bool Returns, class F, class... Args>
struct RemoteSignature {};

template <bool Returns, class F, class... Args>
void remote_trampoline(const void* fn_address, std::span<const std::byte> payload,
                       std::vector<std::byte>* result) {
  constexpr RemoteFnKind kind = remote_fn_kind<F>();
  InputArchive in(payload.data(), payload.size());
  F fn = [&] {
    if constexpr (kind == RemoteFnKind::function_pointer) {
      return reinterpret_cast<F>(const_cast<void*>(fn_address));
    } else if constexpr (kind == RemoteFnKind::empty) {
      return F{};
    } else {
      return in.template read_value<F>();
    }
  }();
  // Braced initialisation evaluates left to right: the arguments are read in order.
  std::tuple<Args...> args{read_remote_argument<Args>(in)...};
  if (in.left() != 0) {
    throw_trailing(type_name<RemoteSignature<Returns, F, Args...>>(), in.offset(), payload.size());
  }
  auto call = [&fn](Args&... a) -> decltype(auto) {
    return std::invoke(std::move(fn), std::move(a)...);
  };
  using R = std::invoke_result_t<F, Args...>;
  if constexpr (Returns && !std::is_void_v<R>) {
    R r = std::apply(call, args);
    if (result != nullptr) encode_to(*result, r);
  } else {
    std::apply([&fn](Args&... a) { invoke_keeping(std::move(fn), std::move(a)...); }, args);
  }
}

template <bool Returns, class F, class... Args>
inline constexpr RemoteEntry remote_entry{
    kRemoteEntryMagic,
    remote_signature_hash(type_name<RemoteSignature<Returns, F, Args...>>()),
    &remote_trampoline<Returns, F, Args...>,
    remote_fn_kind<F>() == RemoteFnKind::function_pointer,
    Returns,
};

// The message's header and names, with capacity for payload_size more bytes (src/launch).
[[nodiscard]] std::vector<std::byte> begin_remote_message(const RemoteEntry& entry,
                                                          const void* fn_address,
                                                          std::size_t payload_size);
[[noreturn]] void throw_null_function_pointer();
// The hash a message carries of its signature and names (src/launch/remote_call.cpp's layout).
[[nodiscard]] std::uint64_t remote_message_check(std::span<const std::byte> bytes) noexcept;

template <bool Returns, class F, class... Args>
void check_remote_call() {
  static_assert(remote_callable<F>,
                "mproc: this callable cannot run in a process that does not share this one's "
                "memory (spawn, forkserver): a task function must be a function pointer, a "
                "captureless lambda, an empty default-constructible callable, or a closure that "
                "is trivially copyable or has a serialize(Ar&) member. A lambda capturing a "
                "std::string or a std::function is none of these: capture nothing and pass "
                "the values as arguments");
  static_assert(((!std::is_pointer_v<std::decay_t<Args>> &&
                  !std::is_member_pointer_v<std::decay_t<Args>>)&&...),
                "mproc: a pointer argument (a string literal decays to one) would point into "
                "this process's memory: pass a std::string, a std::vector or the value itself");
  static_assert((assert_remote_argument<Args>() && ...));  // names the bad type
  static_assert(std::invocable<std::decay_t<F>, std::decay_t<Args>...>,
                "mproc: fn cannot be called with these arguments (decayed copies, moved into the "
                "call, as Process does)");
  if constexpr (Returns && remote_call_ok<F, Args...>) {
    using R = remote_result_t<F, Args...>;
    if constexpr (!std::is_void_v<R>) {
      static_assert(assert_transferable<std::remove_cvref_t<R>>(),
                    "mproc: the task's result must be void or transferable");
    }
  }
}

template <bool Returns, class F, class... Args>
std::vector<std::byte> encode_remote(const F& fn, const Args&... args) {
  check_remote_call<Returns, F, Args...>();
  if constexpr (remote_call_ok<F, Args...>) {
    using D = std::decay_t<F>;
    constexpr RemoteFnKind kind = remote_fn_kind<D>();
    const void* fn_address = nullptr;
    OutputArchive<CountingSink> counter{CountingSink{}};
    if constexpr (kind == RemoteFnKind::function_pointer) {
      const D pointer = fn;
      if (pointer == nullptr) throw_null_function_pointer();
      fn_address = reinterpret_cast<const void*>(pointer);
    } else if constexpr (kind == RemoteFnKind::bitwise || kind == RemoteFnKind::serialized) {
      counter.write(fn);
    }
    (write_remote_argument(counter, args, false), ...);
    const std::size_t payload = counter.sink().size;
    std::vector<std::byte> out =
        begin_remote_message(remote_entry<Returns, D, std::decay_t<Args>...>, fn_address, payload);
    const std::size_t start = out.size();
    out.resize(start + payload);  // within the capacity begin_remote_message reserved
    OutputArchive<WritingSink> writer{
        WritingSink{out.data() + start, out.data() + start, out.data() + out.size(), &out}};
    if constexpr (kind == RemoteFnKind::bitwise || kind == RemoteFnKind::serialized) {
      writer.write(fn);
    }
    (write_remote_argument(writer, args, true), ...);
    out.resize(static_cast<std::size_t>(writer.sink().cur - out.data()));
    return out;
  } else {
    return {};
  }
}

// The message "call fn(args...)" for another process running this executable. fn and args are
// copied (decayed) into it; the call's result is discarded there. Throws mproc::Error if a
// function pointer is null or lies in no loaded module; exceptions from a user's serialize()
// pass through.
template <class F, class... Args>
[[nodiscard]] std::vector<std::byte> encode_remote_call(const F& fn, const Args&... args) {
  return encode_remote<false, F, Args...>(fn, args...);
}

// As encode_remote_call, but run_remote_task returns the encoded result (decode it with
// mproc::decode<remote_result_t<F, Args...>>; empty bytes for a void result).
template <class F, class... Args>
[[nodiscard]] std::vector<std::byte> encode_remote_task(const F& fn, const Args&... args) {
  return encode_remote<true, F, Args...>(fn, args...);
}

// Decodes a message made by encode_remote_call or encode_remote_task (in a process running the
// same executable with the same libraries) and runs the call here. Exceptions from the call
// propagate. A malformed or truncated message is DecodeError; one naming a module not loaded
// here, another build of a module, or an offset where no trampoline is, is Error.
void run_remote_call(std::span<const std::byte> bytes);

// As run_remote_call, for a message made by encode_remote_task: returns the encoded result
// (empty for void). A message made by encode_remote_call is Error (it carries no result).
[[nodiscard]] std::vector<std::byte> run_remote_task(std::span<const std::byte> bytes);

}  // namespace mproc::detail
