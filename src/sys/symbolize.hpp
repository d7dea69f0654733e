// Addresses of code in this process turned into function names, for crash reports.
//
//   sys::Symbolizer symbols;                        // caches each object's symbol table
//   std::string s = symbols.symbolize(address);     // "crash_here(int)+0x1c"
//
// The object holding an address is found with dl_iterate_phdr; its names come from the object's
// ELF .symtab (read from the file: the main program via /proc/self/exe), which has the static
// and non-exported functions that dladdr, seeing only .dynsym, misses; then from dladdr. Names
// are demangled. A forked child has the same objects at the same addresses, so its parent can
// symbolize the child's addresses (not those of objects the child dlopen'ed after the fork).
//
// Not async-signal-safe (it allocates and reads files). A Symbolizer is not thread-safe; use one
// per thread or per report. It holds no fds between calls.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>

namespace mproc::sys {

struct Symbol {
  std::string name{};                // demangled function name; empty when unknown
  std::uintptr_t offset = 0;         // address - the function's start, when name is known
  std::string object{};              // file name of the object (no directory); empty if none
  std::uintptr_t object_offset = 0;  // address - the object's load base
  bool in_main_program = false;      // the object is the executable itself
};

struct SymbolTable;  // one object's function symbols (symbolize.cpp)

class Symbolizer {
 public:
  Symbolizer();
  ~Symbolizer();
  Symbolizer(Symbolizer&&) noexcept;
  Symbolizer& operator=(Symbolizer&&) noexcept;
  Symbolizer(const Symbolizer&) = delete;
  Symbolizer& operator=(const Symbolizer&) = delete;

  // What is known about `address`; never throws except std::bad_alloc.
  [[nodiscard]] Symbol resolve(std::uintptr_t address);

  // "name+0x1c"; else "0x7f12... (libfoo.so+0x123)"; else "0x7f12...".
  [[nodiscard]] std::string symbolize(std::uintptr_t address);

 private:
  std::map<std::string, std::unique_ptr<SymbolTable>> tables_;  // by file path; null: unreadable
};

// One loaded object, as another process running the same program (a spawned exec, where ASLR
// placed everything elsewhere) can find it again: the span of its PT_LOAD segments, its load
// base, and a hash of the loader's name for it ("" for the main program). Plain integers, for
// shared memory.
struct LoadedSpan {
  std::uint64_t lo = 0;
  std::uint64_t hi = 0;
  std::uint64_t base = 0;
  std::uint64_t name_hash = 0;
};

// This process's loaded objects, in the loader's order, into out; returns how many (at most
// out.size()). Not async-signal-safe (dl_iterate_phdr): call it before a signal handler needs it.
std::size_t loaded_spans(std::span<LoadedSpan> out) noexcept;

// `address`, taken in a process whose loaded objects were `theirs`, as the same code's address
// in this process; nullopt when it lies in none of theirs or that object is not loaded here.
[[nodiscard]] std::optional<std::uintptr_t> relocate(std::uintptr_t address,
                                                     std::span<const LoadedSpan> theirs) noexcept;

// One-shot: a temporary Symbolizer (reads the object's symbol table each call).
[[nodiscard]] std::string symbolize(std::uintptr_t address);

// "0x1c".
[[nodiscard]] std::string hex(std::uintptr_t value);

}  // namespace mproc::sys
