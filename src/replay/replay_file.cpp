// The replay file (mproc/replay.hpp): a fixed header, then the item type's name, a closure's
// state and the encoded input. Host byte order: a file is for the same build on the same machine.
#include <cstring>
#include <limits>

#include "mproc/replay.hpp"
#include "sys/file.hpp"

namespace mproc::detail {
namespace {

constexpr char kMagic[8] = {'M', 'P', 'R', 'O', 'C', 'R', 'P', 'L'};
constexpr std::uint32_t kVersion = 1;
constexpr std::size_t kMaxName = 4096;
constexpr std::size_t kMaxFile = std::size_t{1} << 34;  // 16 GiB: more than max_message_size

struct Header {
  char magic[8];
  std::uint32_t version;
  std::uint32_t kind;
  std::uint64_t args_fingerprint;
  std::uint64_t closure_fingerprint;
  std::uint64_t index;
  std::uint32_t name_size;
  std::uint32_t reserved;
  std::uint64_t closure_size;
  std::uint64_t input_size;
  std::uint64_t checksum;  // FNV-1a of everything after the header
};
static_assert(std::is_standard_layout_v<Header> && std::is_trivially_copyable_v<Header>);
static_assert(sizeof(Header) == 72);

std::uint64_t fnv(std::span<const std::byte> bytes) noexcept {
  std::uint64_t h = 0xcbf29ce484222325ull;
  for (std::byte b : bytes) h = (h ^ static_cast<unsigned char>(b)) * 0x100000001b3ull;
  return h;
}

[[noreturn]] void bad(std::string_view source, const std::string& why) {
  throw Error("mproc::replay: " + std::string(source) + " is not a usable replay file: " + why);
}

}  // namespace

std::vector<std::byte> format_replay(const ReplayTypes& types, std::uint64_t index,
                                     std::span<const std::byte> closure,
                                     std::span<const std::byte> input) {
  const std::string_view name = types.args_name.substr(0, kMaxName);
  Header h{};
  std::memcpy(h.magic, kMagic, sizeof kMagic);
  h.version = kVersion;
  h.kind = types.kind;
  h.args_fingerprint = types.args_fingerprint;
  h.closure_fingerprint = types.closure_fingerprint;
  h.index = index;
  h.name_size = static_cast<std::uint32_t>(name.size());
  h.closure_size = closure.size();
  h.input_size = input.size();
  std::vector<std::byte> out(sizeof h + name.size() + closure.size() + input.size());
  std::byte* p = out.data() + sizeof h;
  if (!name.empty()) std::memcpy(p, name.data(), name.size());
  p += name.size();
  if (!closure.empty()) std::memcpy(p, closure.data(), closure.size());
  p += closure.size();
  if (!input.empty()) std::memcpy(p, input.data(), input.size());
  h.checksum = fnv(std::span<const std::byte>(out).subspan(sizeof h));
  std::memcpy(out.data(), &h, sizeof h);
  return out;
}

void reseal_replay(std::span<std::byte> bytes) noexcept {
  if (bytes.size() < sizeof(Header)) return;
  const std::uint64_t sum = fnv(bytes.subspan(sizeof(Header)));
  std::memcpy(bytes.data() + offsetof(Header, checksum), &sum, sizeof sum);
}

ReplayRecord parse_replay(std::span<const std::byte> bytes, std::string_view source) {
  Header h{};
  if (bytes.size() < sizeof h) {
    bad(source, std::to_string(bytes.size()) + " bytes, shorter than the " +
                    std::to_string(sizeof h) + "-byte header (truncated?)");
  }
  std::memcpy(&h, bytes.data(), sizeof h);
  if (std::memcmp(h.magic, kMagic, sizeof kMagic) != 0) bad(source, "no mproc replay magic");
  if (h.version != kVersion) {
    bad(source, "version " + std::to_string(h.version) + ", this mproc reads version " +
                    std::to_string(kVersion));
  }
  if (h.kind != ReplayTypes::kOne && h.kind != ReplayTypes::kTuple) {
    bad(source, "unknown item kind " + std::to_string(h.kind));
  }
  if (h.name_size > kMaxName) bad(source, "a type name of " + std::to_string(h.name_size) + " bytes");
  const std::uint64_t body = bytes.size() - sizeof h;
  // Each size is checked against what is left before they are added: no overflow.
  if (h.closure_size > body || h.input_size > body - h.closure_size ||
      h.name_size > body - h.closure_size - h.input_size) {
    bad(source, "its sections need more bytes than the file's " + std::to_string(bytes.size()) +
                    " (truncated?)");
  }
  if (std::uint64_t{h.name_size} + h.closure_size + h.input_size != body) {
    bad(source, std::to_string(body - h.name_size - h.closure_size - h.input_size) +
                    " bytes of trailing garbage");
  }
  if (fnv(bytes.subspan(sizeof h)) != h.checksum) bad(source, "checksum mismatch (corrupt)");
  ReplayRecord r;
  r.kind = h.kind;
  r.args_fingerprint = h.args_fingerprint;
  r.closure_fingerprint = h.closure_fingerprint;
  r.index = h.index;
  auto p = bytes.subspan(sizeof h);
  r.args_name.assign(reinterpret_cast<const char*>(p.data()), h.name_size);
  p = p.subspan(h.name_size);
  r.closure.assign(p.begin(), p.begin() + static_cast<std::ptrdiff_t>(h.closure_size));
  p = p.subspan(static_cast<std::size_t>(h.closure_size));
  r.input.assign(p.begin(), p.end());
  return r;
}

ReplayRecord read_replay(const std::filesystem::path& file) {
  return parse_replay(sys::read_file(file.string(), kMaxFile), file.string());
}

void throw_replay_mismatch(const ReplayRecord& rec, std::string_view wanted,
                           std::string_view source) {
  throw Error("mproc::replay: " + std::string(source) + " holds an input of type " +
              rec.args_name + (rec.kind == ReplayTypes::kTuple ? " (starmap/apply arguments)" : "") +
              ", not " + std::string(wanted) +
              ": replay it with the task's own argument types, mproc::replay<T...>(file, f)");
}

}  // namespace mproc::detail
