#include "handle/wire.hpp"

#include <cstring>
#include <utility>

#include "mproc/error.hpp"
#include "shared_memory/shm_access.hpp"

namespace mproc::detail {

namespace {
constexpr std::uint32_t kMagic = 0x3148706d;  // "mpH1"
constexpr std::size_t kHeader = 16;

void put_le(std::vector<std::byte>& out, std::uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<std::byte>(v >> (8 * i)));
}

std::uint64_t get_le(const std::byte* p, int bytes) {
  std::uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v |= std::to_integer<std::uint64_t>(p[i]) << (8 * i);
  return v;
}
}  // namespace

void export_error(const char* type, const std::string& problem) {
  throw Error(std::string("export_handle<") + type + ">: " + problem);
}

HandleWriter::HandleWriter(HandleKind kind) : kind_(kind) {}

HandleWriter& HandleWriter::u64(std::uint64_t v) {
  put_le(fields_, v, 8);
  return *this;
}

HandleWriter& HandleWriter::text(std::string_view s) {
  u64(s.size());
  const auto* p = reinterpret_cast<const std::byte*>(s.data());
  fields_.insert(fields_.end(), p, p + s.size());
  return *this;
}

HandleWriter& HandleWriter::fd(int fd) {
  fds_.push_back(fd);
  return *this;
}

HandleWriter& HandleWriter::memory(const SharedMemory& memory) {
  fd(ShmAccess::fd(memory));
  return u64(memory.size());
}

ExportedHandle HandleWriter::finish() {
  ExportedHandle out;
  out.bytes.reserve(kHeader + fields_.size());
  put_le(out.bytes, kMagic, 4);
  put_le(out.bytes, static_cast<std::uint32_t>(kind_), 4);
  put_le(out.bytes, fds_.size(), 4);
  put_le(out.bytes, 0, 4);
  out.bytes.insert(out.bytes.end(), fields_.begin(), fields_.end());
  out.fds = std::move(fds_);
  return out;
}

HandleReader::HandleReader(std::span<const std::byte> bytes, std::span<UniqueFd> fds,
                           HandleKind kind, const char* type)
    : bytes_(bytes), what_(std::string("import_handle<") + type + ">") {
  fds_.reserve(fds.size());
  for (UniqueFd& fd : fds) fds_.push_back(std::move(fd));
  if (bytes.size() < kHeader || get_le(bytes.data(), 4) != kMagic ||
      get_le(bytes.data() + 12, 4) != 0) {
    fail("the bytes are not an exported handle");
  }
  const auto got = static_cast<std::uint32_t>(get_le(bytes.data() + 4, 4));
  if (got != static_cast<std::uint32_t>(kind)) {
    fail("the bytes describe another kind of object (kind " + std::to_string(got) + ", not " +
         std::to_string(static_cast<std::uint32_t>(kind)) + ")");
  }
  const std::uint64_t nfds = get_le(bytes.data() + 8, 4);
  if (nfds != fds_.size()) {
    fail("the object was exported with " + std::to_string(nfds) + " fds, " +
         std::to_string(fds_.size()) + " were passed");
  }
  for (const UniqueFd& fd : fds_) {
    if (!fd) fail("an fd passed is empty");
  }
  pos_ = kHeader;
}

void HandleReader::fail(const std::string& problem) const { throw Error(what_ + ": " + problem); }

std::uint64_t HandleReader::u64() {
  if (bytes_.size() - pos_ < 8) fail("the bytes end too early");
  const std::uint64_t v = get_le(bytes_.data() + pos_, 8);
  pos_ += 8;
  return v;
}

std::string HandleReader::text() {
  const std::uint64_t n = u64();
  if (bytes_.size() - pos_ < n) fail("the bytes end too early");
  std::string s(reinterpret_cast<const char*>(bytes_.data() + pos_), n);
  pos_ += n;
  return s;
}

UniqueFd HandleReader::fd() {
  if (next_fd_ == fds_.size()) fail("too few fds");
  return std::move(fds_[next_fd_++]);
}

SharedMemory HandleReader::memory(std::size_t expected_size, std::string name) {
  UniqueFd f = fd();
  const std::uint64_t size = u64();
  if (expected_size != 0 && size != expected_size) {
    fail("the exported state holds " + std::to_string(size) + " bytes, this build's " +
         std::to_string(expected_size));
  }
  return ShmAccess::adopt(std::move(f), size, std::move(name), what_);
}

void HandleReader::finish() const {
  if (pos_ != bytes_.size()) fail("the bytes go on past the object's description");
  if (next_fd_ != fds_.size()) fail("more fds than the object has");
}

}  // namespace mproc::detail
