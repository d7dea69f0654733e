#include "sys/symbolize.hpp"

#include <dlfcn.h>
#include <elf.h>
#include <fcntl.h>
#include <link.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <utility>
#include <vector>

#include "error/exception_info.hpp"
#include "sys/check.hpp"
#include "sys/unique_fd.hpp"

namespace mproc::sys {

// An object's function symbols, sorted by address (relative to the object's load base).
struct SymbolTable {
  struct Entry {
    std::uint64_t value;
    std::uint64_t size;
    std::uint32_t name;  // offset into strtab
    std::uint32_t rank;  // among aliases, lower reads better
  };
  std::vector<Entry> entries;
  std::string strtab;
};

namespace {

// Sanity limits against a file that is not what its header claims.
constexpr std::uint64_t kMaxSectionBytes = std::uint64_t{256} << 20;
constexpr std::uint64_t kMaxSections = 1u << 16;

// Reads exactly `size` bytes at `offset`; false on error or end of file.
bool pread_full(int fd, void* buf, std::size_t size, std::uint64_t offset) noexcept {
  auto* p = static_cast<char*>(buf);
  while (size > 0) {
    ssize_t n = retry_eintr([&] { return ::pread(fd, p, size, static_cast<off_t>(offset)); });
    if (n <= 0) return false;
    p += n;
    size -= static_cast<std::size_t>(n);
    offset += static_cast<std::uint64_t>(n);
  }
  return true;
}

template <class T>
bool read_array(int fd, std::vector<T>& out, std::uint64_t offset, std::uint64_t bytes) {
  if (bytes > kMaxSectionBytes || bytes % sizeof(T) != 0) return false;
  out.resize(static_cast<std::size_t>(bytes / sizeof(T)));
  return pread_full(fd, out.data(), static_cast<std::size_t>(bytes), offset);
}

// Fewer leading underscores, then global before weak before local, then shorter.
std::uint32_t alias_rank(const Elf64_Sym& s, const std::string& strtab) {
  const char* name = strtab.c_str() + s.st_name;
  const unsigned bind = ELF64_ST_BIND(s.st_info);
  std::uint32_t rank = bind == STB_GLOBAL ? 0 : bind == STB_WEAK ? 1 : 2;
  std::uint32_t underscores = 0;
  while (name[underscores] == '_') ++underscores;
  const auto length = static_cast<std::uint32_t>(std::min<std::size_t>(std::strlen(name), 0xffff));
  return std::min(underscores, 15u) << 20 | rank << 16 | length;
}

// Parses the ELF file's .symtab (or .dynsym when stripped); nullptr if it is not a readable
// native ELF64 file.
std::unique_ptr<SymbolTable> load_table(const std::string& path) {
  UniqueFd fd(retry_eintr([&] { return ::open(path.c_str(), O_RDONLY | O_CLOEXEC); }));
  if (!fd) return nullptr;
  Elf64_Ehdr eh{};
  if (!pread_full(fd.get(), &eh, sizeof eh, 0)) return nullptr;
  if (std::memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 || eh.e_ident[EI_CLASS] != ELFCLASS64 ||
      eh.e_shentsize != sizeof(Elf64_Shdr) || eh.e_shoff == 0) {
    return nullptr;
  }
  std::uint64_t shnum = eh.e_shnum;
  if (shnum == 0) {  // more than SHN_LORESERVE sections: the count is in section 0's sh_size
    Elf64_Shdr first{};
    if (!pread_full(fd.get(), &first, sizeof first, eh.e_shoff)) return nullptr;
    shnum = first.sh_size;
  }
  if (shnum == 0 || shnum > kMaxSections) return nullptr;
  std::vector<Elf64_Shdr> sections;
  if (!read_array(fd.get(), sections, eh.e_shoff, shnum * sizeof(Elf64_Shdr))) return nullptr;

  const Elf64_Shdr* symtab = nullptr;
  for (const auto& s : sections) {
    if (s.sh_type == SHT_SYMTAB) symtab = &s;
  }
  if (symtab == nullptr) {
    for (const auto& s : sections) {
      if (s.sh_type == SHT_DYNSYM) symtab = &s;
    }
  }
  if (symtab == nullptr || symtab->sh_entsize != sizeof(Elf64_Sym) ||
      symtab->sh_link >= sections.size()) {
    return nullptr;
  }
  const Elf64_Shdr& strsec = sections[symtab->sh_link];
  if (strsec.sh_type != SHT_STRTAB || strsec.sh_size > kMaxSectionBytes) return nullptr;

  std::vector<Elf64_Sym> syms;
  if (!read_array(fd.get(), syms, symtab->sh_offset, symtab->sh_size)) return nullptr;
  auto table = std::make_unique<SymbolTable>();
  table->strtab.resize(static_cast<std::size_t>(strsec.sh_size));
  if (!pread_full(fd.get(), table->strtab.data(), table->strtab.size(), strsec.sh_offset)) {
    return nullptr;
  }
  table->strtab.push_back('\0');  // every name ends within the buffer, whatever the file says
  for (const auto& s : syms) {
    const unsigned type = ELF64_ST_TYPE(s.st_info);
    if (type != STT_FUNC && type != STT_GNU_IFUNC) continue;
    if (s.st_shndx == SHN_UNDEF || s.st_value == 0 || s.st_name >= strsec.sh_size) continue;
    table->entries.push_back({s.st_value, s.st_size, s.st_name, alias_rank(s, table->strtab)});
  }
  // Of aliases at one address (getpid, __getpid, __GI___getpid) keep the most readable.
  std::sort(table->entries.begin(), table->entries.end(), [](const auto& a, const auto& b) {
    return a.value != b.value ? a.value < b.value : a.rank < b.rank;
  });
  auto same_address = [](const auto& a, const auto& b) { return a.value == b.value; };
  table->entries.erase(std::unique(table->entries.begin(), table->entries.end(), same_address),
                       table->entries.end());
  return table;
}

struct ObjectAt {
  const char* name = nullptr;  // dlpi_name: "" for the main program
  std::uintptr_t base = 0;     // dlpi_addr
  bool main_program = false;
};

// The loaded object whose PT_LOAD segments hold `address`.
std::optional<ObjectAt> object_at(std::uintptr_t address) noexcept {
  struct Search {
    std::uintptr_t address;
    bool first;
    std::optional<ObjectAt> found;
  } search{address, true, std::nullopt};
  ::dl_iterate_phdr(
      [](dl_phdr_info* info, std::size_t, void* data) noexcept -> int {
        auto* s = static_cast<Search*>(data);
        const bool first = std::exchange(s->first, false);
        for (ElfW(Half) i = 0; i < info->dlpi_phnum; ++i) {
          const auto& ph = info->dlpi_phdr[i];
          if (ph.p_type != PT_LOAD) continue;
          const std::uintptr_t start = info->dlpi_addr + ph.p_vaddr;
          if (s->address >= start && s->address - start < ph.p_memsz) {
            s->found = ObjectAt{info->dlpi_name, info->dlpi_addr, first};
            return 1;
          }
        }
        return 0;
      },
      &search);
  return search.found;
}

std::string base_name(const std::string& path) {
  auto slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::string main_program_name() {
  char buf[4096];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf);
  return n > 0 ? base_name(std::string(buf, static_cast<std::size_t>(n))) : "(main program)";
}

}  // namespace

Symbolizer::Symbolizer() = default;
Symbolizer::~Symbolizer() = default;
Symbolizer::Symbolizer(Symbolizer&&) noexcept = default;
Symbolizer& Symbolizer::operator=(Symbolizer&&) noexcept = default;

Symbol Symbolizer::resolve(std::uintptr_t address) {
  Symbol sym;
  auto object = object_at(address);
  if (!object) return sym;
  sym.in_main_program = object->main_program;
  sym.object_offset = address - object->base;
  const std::string path =
      object->main_program || object->name == nullptr || object->name[0] == '\0'
          ? std::string("/proc/self/exe")
          : std::string(object->name);
  sym.object = path == "/proc/self/exe" ? main_program_name() : base_name(path);

  auto it = tables_.find(path);
  if (it == tables_.end()) it = tables_.emplace(path, load_table(path)).first;
  if (const SymbolTable* table = it->second.get()) {
    const std::uint64_t rel = sym.object_offset;
    auto after = std::upper_bound(table->entries.begin(), table->entries.end(), rel,
                                  [](std::uint64_t v, const auto& e) { return v < e.value; });
    // The nearest symbol at or below rel, if its extent covers it (one without a size covers up
    // to the next symbol).
    if (after != table->entries.begin()) {
      const auto& e = *(after - 1);
      if (e.size == 0 || rel - e.value < e.size) {
        sym.name = mproc::detail::demangle(table->strtab.c_str() + e.name);
        sym.offset = rel - e.value;
        return sym;
      }
    }
  }
  // No readable symbol table (the vDSO, a deleted file): the dynamic symbols dladdr sees.
  Dl_info info{};
  if (::dladdr(reinterpret_cast<void*>(address), &info) != 0 && info.dli_sname != nullptr &&
      info.dli_saddr != nullptr) {
    sym.name = mproc::detail::demangle(info.dli_sname);
    sym.offset = address - reinterpret_cast<std::uintptr_t>(info.dli_saddr);
  }
  return sym;
}

std::string Symbolizer::symbolize(std::uintptr_t address) {
  Symbol sym = resolve(address);
  if (!sym.name.empty()) return sym.name + "+" + hex(sym.offset);
  if (!sym.object.empty())
    return hex(address) + " (" + sym.object + "+" + hex(sym.object_offset) + ")";
  return hex(address);
}

std::string symbolize(std::uintptr_t address) { return Symbolizer().symbolize(address); }

namespace {

std::uint64_t name_hash(const char* name) noexcept {  // FNV-1a
  std::uint64_t h = 14695981039346656037ull;
  for (const char* c = name != nullptr ? name : ""; *c != '\0'; ++c) {
    h = (h ^ static_cast<unsigned char>(*c)) * 1099511628211ull;
  }
  return h;
}

}  // namespace

std::size_t loaded_spans(std::span<LoadedSpan> out) noexcept {
  struct Fill {
    std::span<LoadedSpan> out;
    std::size_t n;
  } fill{out, 0};
  ::dl_iterate_phdr(
      [](dl_phdr_info* info, std::size_t, void* data) noexcept -> int {
        auto* f = static_cast<Fill*>(data);
        if (f->n == f->out.size()) return 1;
        LoadedSpan span{UINT64_MAX, 0, info->dlpi_addr, name_hash(info->dlpi_name)};
        for (ElfW(Half) i = 0; i < info->dlpi_phnum; ++i) {
          const auto& ph = info->dlpi_phdr[i];
          if (ph.p_type != PT_LOAD) continue;
          span.lo = std::min<std::uint64_t>(span.lo, info->dlpi_addr + ph.p_vaddr);
          span.hi = std::max<std::uint64_t>(span.hi, info->dlpi_addr + ph.p_vaddr + ph.p_memsz);
        }
        if (span.lo < span.hi) f->out[f->n++] = span;
        return 0;
      },
      &fill);
  return fill.n;
}

std::optional<std::uintptr_t> relocate(std::uintptr_t address,
                                       std::span<const LoadedSpan> theirs) noexcept {
  const LoadedSpan* in = nullptr;
  for (const auto& t : theirs) {
    if (address >= t.lo && address < t.hi) {
      in = &t;
      break;
    }
  }
  if (in == nullptr) return std::nullopt;
  struct Find {
    std::uint64_t hash;
    std::optional<std::uintptr_t> base;
  } find{in->name_hash, std::nullopt};
  ::dl_iterate_phdr(
      [](dl_phdr_info* info, std::size_t, void* data) noexcept -> int {
        auto* f = static_cast<Find*>(data);
        if (name_hash(info->dlpi_name) != f->hash) return 0;
        f->base = info->dlpi_addr;
        return 1;
      },
      &find);
  if (!find.base) return std::nullopt;
  return address - in->base + *find.base;
}

std::string hex(std::uintptr_t value) {
  static constexpr char kDigits[] = "0123456789abcdef";
  char buf[2 + 2 * sizeof value];
  char* end = buf + sizeof buf;
  char* p = end;
  do {
    *--p = kDigits[value & 0xf];
    value >>= 4;
  } while (value != 0);
  *--p = 'x';
  *--p = '0';
  return std::string(p, end);
}

}  // namespace mproc::sys
