// Addresses of code and static data named so that another process running the same executable
// (an exec of /proc/self/exe, or a fork of a server started earlier) can find them again, however
// ASLR placed its modules.
//
//   sys::ModuleAddress name = sys::module_address(reinterpret_cast<const void*>(&f));
//   std::vector<std::byte> wire(name.wire_size());
//   name.write(wire.data());
//   // ... in the other process:
//   std::span<const std::byte> rest = wire;
//   auto* g = sys::resolve_module_address(rest, sys::Segment::code, 1);  // == &f over there
//
// A name is {module identity, offset from the module's load base}. The identity of the main
// program is "the main program" (never its path: it may have been started through a relative
// path or a symlink, and a spawned child is an exec of /proc/self/exe anyway); of a shared
// library, its canonical path (realpath of the name the loader used). Both carry the module's
// NT_GNU_BUILD_ID (when it has one) and a hash of its program headers, so a different binary
// at the same path is refused with mproc::Error instead of jumping into garbage. A module not
// loaded in the resolving process, or an offset outside the right kind of segment, is also
// mproc::Error naming the module; bytes too short to be a name are mproc::DecodeError.
//
// Cost: the loaded modules are cached. The main program's segments and build id are read once;
// an address in it is named and resolved without a lock, a syscall or an allocation. Other
// modules are found in a snapshot of dl_iterate_phdr, re-taken only when the loader's count of
// loads and unloads changed (checked with one dl_iterate_phdr call that stops at the first
// module). module_address() never allocates unless the snapshot must be re-taken.
//
// Threads: every function is thread-safe. Fork: a forked child inherits the cache, which stays
// right (same modules at the same addresses). Not async-signal-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

namespace mproc::sys {

struct LoadedModule;  // one module as the cache knows it (module_address.cpp)

// What the named bytes must be in the resolving process.
enum class Segment {
  code,  // inside an executable PT_LOAD segment (a function to call)
  data,  // inside a readable PT_LOAD segment, `size` bytes of it (a static object to read)
};

// The position-independent name of one address. Keeps its module's description alive.
class ModuleAddress {
 public:
  ModuleAddress(std::shared_ptr<const LoadedModule> module, std::uint64_t offset) noexcept;

  // Bytes write() produces.
  [[nodiscard]] std::size_t wire_size() const noexcept;
  // Writes the name to out[0, wire_size()).
  void write(std::byte* out) const noexcept;

  [[nodiscard]] bool in_main_program() const noexcept;
  // The library's canonical path; empty for the main program.
  [[nodiscard]] const std::string& path() const noexcept;
  [[nodiscard]] std::uint64_t offset() const noexcept { return offset_; }

 private:
  std::shared_ptr<const LoadedModule> module_;
  std::uint64_t offset_;
};

// Names `address`, which must lie in a PT_LOAD segment of a module loaded in this process.
// Throws mproc::Error if it lies in none (a heap or stack address, JIT code).
[[nodiscard]] ModuleAddress module_address(const void* address);

// Parses one name from the front of `bytes` (advancing it past the name) and returns the address
// it denotes in this process, checked to lie with `size` bytes inside a segment of the kind
// `segment`. Throws mproc::DecodeError when the bytes are truncated or malformed, and
// mproc::Error (naming the module) when the module is not loaded here, is a different build,
// or the offset is outside such a segment.
[[nodiscard]] const void* resolve_module_address(std::span<const std::byte>& bytes, Segment segment,
                                                 std::size_t size);

// The build id (NT_GNU_BUILD_ID) of the main program as lowercase hex; empty if it has none.
// For messages and tests.
[[nodiscard]] std::string main_program_build_id();

// Fills the module caches now (the main program's path, every loaded library's canonical path),
// so that later resolutions make no system call: for a process about to enter a sandbox that
// refuses readlink and stat (sys/seccomp.hpp).
void warm_module_cache();

}  // namespace mproc::sys
