// The non-template half of mproc/detail/remote_call.hpp: the message's header and names.
//
// Layout: u32 magic "mprc", u8 version, u8 flags (bit 0: a function pointer's name follows),
// u64 check, u64 the descriptor's signature, the descriptor's name, [the function pointer's
// name], then the payload (the closure if it is sent, then the arguments, in the codec's
// layout). Host byte order: both ends run the same executable. The check is a 64-bit hash of
// the signature and the names: those bytes pick the code that runs, and a function pointer's offset
// cannot be checked otherwise (any offset inside the code segment "resolves"), so a corrupted
// one is refused instead of called. The payload is left to the codec's checks.
#include "mproc/detail/remote_call.hpp"

#include <cstring>
#include <optional>
#include <string>

#include "sys/module_address.hpp"

namespace mproc::detail {
namespace {

constexpr std::uint32_t kMessageMagic = 0x6370726d;  // "mprc"
constexpr std::uint8_t kVersion = 1;
constexpr std::uint8_t kHasFnPointer = 1;
constexpr std::size_t kCheckAt = 6;
constexpr std::size_t kSignatureAt = 14;
constexpr std::size_t kHeaderSize = kSignatureAt + 8;

template <class T>
T take(std::span<const std::byte>& bytes, const char* what) {
  if (bytes.size() < sizeof(T)) {
    throw DecodeError(std::string("mproc: a remote call message is truncated in its ") + what +
                      " (" + std::to_string(bytes.size()) + " bytes left, " +
                      std::to_string(sizeof(T)) + " needed)");
  }
  T v;
  std::memcpy(&v, bytes.data(), sizeof v);
  bytes = bytes.subspan(sizeof v);
  return v;
}

// The descriptor and function pointer a message names, checked.
struct Parsed {
  const RemoteEntry* entry;
  const void* fn_address;
  std::span<const std::byte> payload;
};

Parsed parse(const std::span<const std::byte> message) {
  std::span<const std::byte> bytes = message;
  if (take<std::uint32_t>(bytes, "magic") != kMessageMagic) {
    throw DecodeError("mproc: not a remote call message (bad magic)");
  }
  const auto version = take<std::uint8_t>(bytes, "version");
  if (version != kVersion) {
    throw DecodeError("mproc: remote call message version " + std::to_string(version) +
                      ", this build reads version " + std::to_string(kVersion));
  }
  const auto flags = take<std::uint8_t>(bytes, "flags");
  if ((flags & ~kHasFnPointer) != 0) {
    throw DecodeError("mproc: remote call message has unknown flags " + std::to_string(flags));
  }
  const auto check = take<std::uint64_t>(bytes, "check");
  const auto signature = take<std::uint64_t>(bytes, "signature");
  const void* where = sys::resolve_module_address(bytes, sys::Segment::data, sizeof(RemoteEntry));
  const void* fn_address = nullptr;
  const bool has_fn = (flags & kHasFnPointer) != 0;
  if (has_fn) fn_address = sys::resolve_module_address(bytes, sys::Segment::code, 1);
  const std::size_t names_end = message.size() - bytes.size();
  if (remote_message_check(message.subspan(kSignatureAt, names_end - kSignatureAt)) != check) {
    throw DecodeError("mproc: a remote call message is corrupt (its check does not match)");
  }
  if (reinterpret_cast<std::uintptr_t>(where) % alignof(RemoteEntry) != 0) {
    throw Error("mproc: a remote call message names a misaligned descriptor");
  }
  RemoteEntry entry;  // copied: the bytes there are only trusted once the magic matches
  std::memcpy(&entry, where, sizeof entry);
  if (entry.magic != kRemoteEntryMagic) {
    throw Error("mproc: a remote call message names an address where no trampoline is");
  }
  if (entry.signature != signature) {
    throw Error("mproc: a remote call message names a trampoline of another type");
  }
  if (has_fn != entry.fn_pointer) {
    throw DecodeError(has_fn ? "mproc: a remote call message carries a function pointer its "
                               "trampoline does not take"
                             : "mproc: a remote call message lacks its function pointer");
  }
  return {static_cast<const RemoteEntry*>(where), fn_address, bytes};
}

}  // namespace

// Eight bytes a step (a byte-wise FNV-1a was most of the cost of a call).
std::uint64_t remote_message_check(std::span<const std::byte> bytes) noexcept {
  constexpr std::uint64_t kMul = 0xff51afd7ed558ccdull;
  std::uint64_t h = 0x9e3779b97f4a7c15ull ^ bytes.size();
  auto mix = [&h](std::uint64_t w) {
    h = (h ^ w) * kMul;
    h ^= h >> 32;
  };
  std::size_t i = 0;
  for (; i + 8 <= bytes.size(); i += 8) {
    std::uint64_t w;
    std::memcpy(&w, bytes.data() + i, 8);
    mix(w);
  }
  std::uint64_t tail = 0;
  std::memcpy(&tail, bytes.data() + i, bytes.size() - i);
  mix(tail);
  return h;
}

std::vector<std::byte> begin_remote_message(const RemoteEntry& entry, const void* fn_address,
                                            std::size_t payload_size) {
  const sys::ModuleAddress entry_name = sys::module_address(&entry);
  std::optional<sys::ModuleAddress> fn_name;
  if (fn_address != nullptr) fn_name.emplace(sys::module_address(fn_address));
  const std::size_t names = entry_name.wire_size() + (fn_name ? fn_name->wire_size() : 0);

  std::vector<std::byte> out;
  out.reserve(kHeaderSize + names + payload_size);
  out.resize(kHeaderSize + names);
  std::byte* p = out.data();
  const std::uint8_t version = kVersion;
  const std::uint8_t flags = fn_name ? kHasFnPointer : 0;
  std::memcpy(p, &kMessageMagic, 4);
  std::memcpy(p + 4, &version, 1);
  std::memcpy(p + 5, &flags, 1);
  std::memcpy(p + kSignatureAt, &entry.signature, 8);
  p += kHeaderSize;
  entry_name.write(p);
  p += entry_name.wire_size();
  if (fn_name) fn_name->write(p);
  const std::uint64_t check =
      remote_message_check(std::span<const std::byte>(out).subspan(kSignatureAt));
  std::memcpy(out.data() + kCheckAt, &check, 8);
  return out;
}

void throw_null_function_pointer() {
  throw Error("mproc: a null function pointer cannot be called in another process");
}

void throw_handle_without_fd_channel() {
  throw Error("mproc: a handle argument (Queue, Lock, Connection, ...) can only cross with fds "
              "passed beside the message; this call was encoded without a place for them");
}

void throw_handle_fds_missing() {
  throw DecodeError("mproc: a handle argument's fds did not arrive with the message");
}

void run_remote_call(std::span<const std::byte> bytes) {
  const Parsed m = parse(bytes);
  m.entry->run(m.fn_address, m.payload, nullptr);
}

std::vector<std::byte> run_remote_task(std::span<const std::byte> bytes) {
  const Parsed m = parse(bytes);
  if (!m.entry->returns) {
    throw Error("mproc: run_remote_task got a message made by encode_remote_call (no result)");
  }
  std::vector<std::byte> result;
  m.entry->run(m.fn_address, m.payload, &result);
  return result;
}

}  // namespace mproc::detail
