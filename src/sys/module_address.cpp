#include "sys/module_address.hpp"

#include <elf.h>
#include <link.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <shared_mutex>
#include <string_view>
#include <vector>

#include "mproc/error.hpp"
#include "sys/symbolize.hpp"

namespace mproc::sys {

// Build ids are 16 (md5, uuid) or 20 (sha1) bytes; a longer one is cut here, which only weakens
// the check, never breaks it.
constexpr std::size_t kMaxBuildId = 64;

struct LoadedModule {
  struct Range {
    std::uint64_t begin = 0;  // offsets from base
    std::uint64_t end = 0;
    bool executable = false;
    bool readable = false;
  };
  bool main_program = false;
  std::string loader_name{};  // dlpi_name as the loader spelled it
  std::string path{};         // canonical; empty for the main program
  std::string display{};      // for messages
  std::uintptr_t base = 0;    // dlpi_addr
  std::array<std::byte, kMaxBuildId> build_id{};
  std::uint8_t build_id_size = 0;
  std::uint64_t layout_hash = 0;
  std::vector<Range> segments{};

  [[nodiscard]] const Range* segment_of(std::uintptr_t address) const noexcept {
    if (address < base) return nullptr;
    const std::uint64_t offset = address - base;
    for (const Range& r : segments) {
      if (offset >= r.begin && offset < r.end) return &r;
    }
    return nullptr;
  }
  [[nodiscard]] std::span<const std::byte> build_id_bytes() const noexcept {
    return {build_id.data(), build_id_size};
  }
};

namespace {

constexpr std::uint8_t kMainProgram = 0;
constexpr std::uint8_t kLibrary = 1;

std::uint64_t fnv1a(const void* data, std::size_t size) noexcept {
  std::uint64_t h = 0xcbf29ce484222325ull;
  const auto* p = static_cast<const unsigned char*>(data);
  for (std::size_t i = 0; i < size; ++i) h = (h ^ p[i]) * 0x100000001b3ull;
  return h;
}

std::string to_hex(std::span<const std::byte> bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string s;
  for (std::byte b : bytes) {
    s += kDigits[std::to_integer<unsigned>(b) >> 4];
    s += kDigits[std::to_integer<unsigned>(b) & 15];
  }
  return s.empty() ? "none" : s;
}

// The NT_GNU_BUILD_ID note of a loaded module, read from its PT_NOTE segments in memory.
void read_build_id(const dl_phdr_info& info, LoadedModule& m) noexcept {
  for (int i = 0; i < info.dlpi_phnum; ++i) {
    const ElfW(Phdr)& ph = info.dlpi_phdr[i];
    if (ph.p_type != PT_NOTE) continue;
    const std::size_t align = ph.p_align == 8 ? 8 : 4;
    const auto* p = reinterpret_cast<const unsigned char*>(info.dlpi_addr + ph.p_vaddr);
    std::size_t left = ph.p_memsz;
    auto up = [align](std::size_t n) { return (n + align - 1) & ~(align - 1); };
    while (left >= sizeof(ElfW(Nhdr))) {
      ElfW(Nhdr) nh;
      std::memcpy(&nh, p, sizeof nh);
      const std::size_t name_at = sizeof nh;
      const std::size_t desc_at = up(name_at + nh.n_namesz);
      const std::size_t next = up(desc_at + nh.n_descsz);
      if (nh.n_namesz > left || nh.n_descsz > left || next > left) break;
      if (nh.n_type == NT_GNU_BUILD_ID && nh.n_namesz == 4 &&
          std::memcmp(p + name_at, "GNU", 4) == 0) {
        m.build_id_size =
            static_cast<std::uint8_t>(std::min<std::size_t>(nh.n_descsz, kMaxBuildId));
        std::memcpy(m.build_id.data(), p + desc_at, m.build_id_size);
        return;
      }
      p += next;
      left -= next;
    }
  }
}

std::string canonical(const char* name) {
  char buf[PATH_MAX];
  if (name[0] != '\0' && ::realpath(name, buf) != nullptr) return buf;
  return name;  // "linux-vdso.so.1" and other names that are not files
}

std::string main_program_path() {
  char buf[PATH_MAX];
  const ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string("?");
}

std::shared_ptr<LoadedModule> describe(const dl_phdr_info& info, bool main_program) {
  auto m = std::make_shared<LoadedModule>();
  m->main_program = main_program;
  m->base = info.dlpi_addr;
  m->loader_name = info.dlpi_name != nullptr ? info.dlpi_name : "";
  if (main_program) {
    m->display = "the main program (" + main_program_path() + ")";
  } else {
    m->path = canonical(m->loader_name.c_str());
    m->display = m->path;
  }
  m->layout_hash = fnv1a(info.dlpi_phdr, sizeof(ElfW(Phdr)) * info.dlpi_phnum);
  for (int i = 0; i < info.dlpi_phnum; ++i) {
    const ElfW(Phdr)& ph = info.dlpi_phdr[i];
    if (ph.p_type != PT_LOAD) continue;
    m->segments.push_back(
        {ph.p_vaddr, ph.p_vaddr + ph.p_memsz, (ph.p_flags & PF_X) != 0, (ph.p_flags & PF_R) != 0});
  }
  read_build_id(info, *m);
  return m;
}

struct LoaderCounts {
  unsigned long long adds = 0;
  unsigned long long subs = 0;
  friend bool operator==(const LoaderCounts&, const LoaderCounts&) = default;
};

constexpr std::size_t kCountsEnd =
    offsetof(dl_phdr_info, dlpi_subs) + sizeof(dl_phdr_info::dlpi_subs);

// The loader's running counts of loads and unloads: one dl_iterate_phdr call that stops at the
// first module.
LoaderCounts loader_counts() noexcept {
  LoaderCounts counts;
  ::dl_iterate_phdr(
      [](dl_phdr_info* info, std::size_t size, void* out) -> int {
        if (size >= kCountsEnd) {
          *static_cast<LoaderCounts*>(out) = {info->dlpi_adds, info->dlpi_subs};
        }
        return 1;
      },
      &counts);
  return counts;
}

const std::shared_ptr<const LoadedModule>& main_module() {
  static const std::shared_ptr<const LoadedModule> main = [] {
    std::shared_ptr<LoadedModule> m;
    ::dl_iterate_phdr(
        [](dl_phdr_info* info, std::size_t, void* out) -> int {
          *static_cast<std::shared_ptr<LoadedModule>*>(out) = describe(*info, true);
          return 1;  // glibc lists the main program first
        },
        &m);
    if (!m) throw Error("mproc: dl_iterate_phdr listed no main program");
    return std::shared_ptr<const LoadedModule>(std::move(m));
  }();
  return main;
}

// The libraries (every module but the main program), as of `counts`.
class LibraryCache {
 public:
  // The library holding address, or null.
  std::shared_ptr<const LoadedModule> find_address(std::uintptr_t address) {
    return find([&](const LoadedModule& m) { return m.segment_of(address) != nullptr; });
  }
  // The library at path (canonical), else one with the same non-empty build id, or null.
  std::shared_ptr<const LoadedModule> find_identity(std::string_view path,
                                                    std::span<const std::byte> build_id) {
    auto by_path = find([&](const LoadedModule& m) { return m.path == path; });
    if (by_path || build_id.empty()) return by_path;
    return find(
        [&](const LoadedModule& m) { return std::ranges::equal(m.build_id_bytes(), build_id); });
  }

 private:
  template <class Match>
  std::shared_ptr<const LoadedModule> find(Match match) {
    const LoaderCounts now = loader_counts();
    {
      std::shared_lock lock(mutex_);
      if (valid_ && counts_ == now) return scan(match);
    }
    std::unique_lock lock(mutex_);
    if (!valid_ || counts_ != now) refresh(now);
    return scan(match);
  }

  template <class Match>
  std::shared_ptr<const LoadedModule> scan(Match& match) const {
    for (const auto& m : modules_) {
      if (match(*m)) return m;
    }
    return nullptr;
  }

  void refresh(LoaderCounts now) {
    struct Walk {
      std::vector<std::shared_ptr<const LoadedModule>>* old;
      std::vector<std::shared_ptr<const LoadedModule>> fresh;
      int index = 0;
    } walk{&modules_, {}, 0};
    ::dl_iterate_phdr(
        [](dl_phdr_info* info, std::size_t, void* arg) -> int {
          auto& w = *static_cast<Walk*>(arg);
          if (w.index++ == 0) return 0;  // the main program has its own, permanent entry
          const char* name = info->dlpi_name != nullptr ? info->dlpi_name : "";
          for (const auto& m : *w.old) {  // unchanged modules keep their entry
            if (m->base == info->dlpi_addr && m->loader_name == name) {
              w.fresh.push_back(m);
              return 0;
            }
          }
          w.fresh.push_back(describe(*info, false));
          return 0;
        },
        &walk);
    modules_ = std::move(walk.fresh);
    counts_ = now;
    valid_ = true;
  }

  std::shared_mutex mutex_;
  bool valid_ = false;
  LoaderCounts counts_{};
  std::vector<std::shared_ptr<const LoadedModule>> modules_;
};

LibraryCache& libraries() {
  static LibraryCache* cache = new LibraryCache;  // never destroyed: used from atexit paths
  return *cache;
}

[[noreturn, gnu::cold, gnu::noinline]] void throw_truncated(std::size_t need, std::size_t left) {
  throw DecodeError("mproc: a module address is truncated: " + std::to_string(need) +
                    " more bytes needed, " + std::to_string(left) + " left");
}

class Reader {
 public:
  explicit Reader(std::span<const std::byte>& bytes) : bytes_(bytes) {}
  const std::byte* take(std::size_t n) {
    if (n > bytes_.size()) throw_truncated(n, bytes_.size());
    const std::byte* p = bytes_.data();
    bytes_ = bytes_.subspan(n);
    return p;
  }
  template <class T>
  T get() {
    T v;
    std::memcpy(&v, take(sizeof v), sizeof v);
    return v;
  }

 private:
  std::span<const std::byte>& bytes_;
};

}  // namespace

ModuleAddress::ModuleAddress(std::shared_ptr<const LoadedModule> module,
                             std::uint64_t offset) noexcept
    : module_(std::move(module)), offset_(offset) {}

bool ModuleAddress::in_main_program() const noexcept { return module_->main_program; }
const std::string& ModuleAddress::path() const noexcept { return module_->path; }

// Layout: u8 kind, u8 build id size, the build id, u64 layout hash, u16 path size, the path
// (empty for the main program), u64 offset. Host byte order: both ends run the same executable.
std::size_t ModuleAddress::wire_size() const noexcept {
  return 1 + 1 + module_->build_id_size + 8 + 2 + module_->path.size() + 8;
}

void ModuleAddress::write(std::byte* out) const noexcept {
  auto put = [&out](const void* p, std::size_t n) {
    std::memcpy(out, p, n);
    out += n;
  };
  const std::uint8_t kind = module_->main_program ? kMainProgram : kLibrary;
  const auto path_size = static_cast<std::uint16_t>(module_->path.size());
  put(&kind, 1);
  put(&module_->build_id_size, 1);
  put(module_->build_id.data(), module_->build_id_size);
  put(&module_->layout_hash, 8);
  put(&path_size, 2);
  put(module_->path.data(), path_size);
  put(&offset_, 8);
}

ModuleAddress module_address(const void* address) {
  const auto a = reinterpret_cast<std::uintptr_t>(address);
  const auto& main = main_module();
  if (main->segment_of(a) != nullptr) return ModuleAddress(main, a - main->base);
  auto lib = libraries().find_address(a);
  if (!lib) {
    throw Error("mproc: address " + hex(a) +
                " is in no loaded module: only functions and static objects of the executable "
                "and its shared libraries can be named for another process");
  }
  const std::uint64_t offset = a - lib->base;
  return ModuleAddress(std::move(lib), offset);
}

const void* resolve_module_address(std::span<const std::byte>& bytes, Segment segment,
                                   std::size_t size) {
  Reader in(bytes);
  const auto kind = in.get<std::uint8_t>();
  if (kind != kMainProgram && kind != kLibrary) {
    throw DecodeError("mproc: a module address has kind byte " + std::to_string(kind) +
                      " (expected 0 or 1)");
  }
  const auto build_id_size = in.get<std::uint8_t>();
  if (build_id_size > kMaxBuildId) {
    throw DecodeError("mproc: a module address has a build id of " + std::to_string(build_id_size) +
                      " bytes (at most " + std::to_string(kMaxBuildId) + ")");
  }
  const std::span<const std::byte> build_id(in.take(build_id_size), build_id_size);
  const auto layout_hash = in.get<std::uint64_t>();
  const auto path_size = in.get<std::uint16_t>();
  const std::string_view path(reinterpret_cast<const char*>(in.take(path_size)), path_size);
  const auto offset = in.get<std::uint64_t>();
  if (kind == kMainProgram && !path.empty()) {
    throw DecodeError("mproc: a module address names the main program and a path");
  }

  std::shared_ptr<const LoadedModule> module;
  if (kind == kMainProgram) {
    module = main_module();
  } else {
    module = libraries().find_identity(path, build_id);
    if (!module) {
      throw Error("mproc: module " + std::string(path) + " (build id " + to_hex(build_id) +
                  ") is not loaded in this process (pid " + std::to_string(::getpid()) + ")");
    }
  }
  if (!std::ranges::equal(module->build_id_bytes(), build_id) ||
      module->layout_hash != layout_hash) {
    throw Error("mproc: " + module->display + " is a different build from the sender's (build id " +
                to_hex(module->build_id_bytes()) + " here, " + to_hex(build_id) +
                " there): both processes must run the same binaries");
  }
  const bool code = segment == Segment::code;
  for (const LoadedModule::Range& r : module->segments) {
    if (!(code ? r.executable : r.readable)) continue;
    if (offset >= r.begin && offset < r.end && size <= r.end - offset) {
      return reinterpret_cast<const void*>(module->base + offset);
    }
  }
  throw Error("mproc: offset " + hex(offset) + " is outside the " +
              (code ? "executable" : "readable") + " segments of " + module->display);
}

void warm_module_cache() {
  (void)main_module();
  (void)libraries().find_address(0);
}

std::string main_program_build_id() {
  const auto& main = main_module();
  return main->build_id_size == 0 ? std::string() : to_hex(main->build_id_bytes());
}

}  // namespace mproc::sys
