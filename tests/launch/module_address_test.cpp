#include "sys/module_address.hpp"

#include <dlfcn.h>
#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "mproc/error.hpp"
#include "remote_lib.hpp"

namespace {

using mproc::sys::Segment;

__attribute__((noinline)) int main_program_function(int x) { return x + 1; }
const char kStaticText[] = "static data of the main program";

std::vector<std::byte> wire(const void* address) {
  mproc::sys::ModuleAddress name = mproc::sys::module_address(address);
  std::vector<std::byte> bytes(name.wire_size());
  name.write(bytes.data());
  return bytes;
}

const void* resolve(const std::vector<std::byte>& bytes, Segment segment = Segment::code,
                    std::size_t size = 1) {
  std::span<const std::byte> rest = bytes;
  const void* address = mproc::sys::resolve_module_address(rest, segment, size);
  EXPECT_TRUE(rest.empty()) << "the name was not consumed exactly";
  return address;
}

const void* address_of(int (*f)(int)) { return reinterpret_cast<const void*>(f); }

// Offsets of the fields of a name (module_address.cpp's layout).
struct Fields {
  std::size_t build_id_size_at = 1, build_id_at = 2, hash_at, path_size_at, path_at, offset_at;
  explicit Fields(const std::vector<std::byte>& b) {
    const auto bid = std::to_integer<std::size_t>(b[1]);
    hash_at = 2 + bid;
    path_size_at = hash_at + 8;
    std::uint16_t path_size;
    std::memcpy(&path_size, &b[path_size_at], 2);
    path_at = path_size_at + 2;
    offset_at = path_at + path_size;
  }
};

template <class Fn>
std::string error_of(Fn fn) {
  try {
    fn();
  } catch (const mproc::DecodeError& e) {
    return std::string("DecodeError: ") + e.what();
  } catch (const mproc::Error& e) {
    return std::string("Error: ") + e.what();
  }
  return "no error";
}

TEST(ModuleAddress, NamesAFunctionOfTheMainProgramAndFindsItAgain) {
  const void* f = address_of(&main_program_function);
  mproc::sys::ModuleAddress name = mproc::sys::module_address(f);
  EXPECT_TRUE(name.in_main_program());
  EXPECT_TRUE(name.path().empty());
  EXPECT_EQ(resolve(wire(f)), f);
  EXPECT_EQ(resolve(wire(f)), f) << "a cached second lookup agrees";
}

TEST(ModuleAddress, TheMainProgramHasABuildId) {
  EXPECT_EQ(mproc::sys::main_program_build_id().size(), 40u)
      << "expected a 20-byte GNU build id: " << mproc::sys::main_program_build_id();
}

TEST(ModuleAddress, NamesAFunctionOfALinkedSharedLibraryByItsCanonicalPath) {
  const auto* f = reinterpret_cast<const void*>(&remote_lib::triple);
  mproc::sys::ModuleAddress name = mproc::sys::module_address(f);
  EXPECT_FALSE(name.in_main_program());
  EXPECT_EQ(name.path().front(), '/') << name.path();
  EXPECT_NE(name.path().find("libmproc_remote_lib.so"), std::string::npos) << name.path();
  EXPECT_EQ(resolve(wire(f)), f);
}

TEST(ModuleAddress, NamesAFunctionOfLibc) {
  void* getpid_address = ::dlsym(RTLD_DEFAULT, "getpid");
  ASSERT_NE(getpid_address, nullptr);
  mproc::sys::ModuleAddress name = mproc::sys::module_address(getpid_address);
  EXPECT_NE(name.path().find("libc.so"), std::string::npos) << name.path();
  EXPECT_EQ(resolve(wire(getpid_address)), getpid_address);
}

TEST(ModuleAddress, StaticDataResolvesAsDataButNotAsCode) {
  const std::vector<std::byte> name = wire(kStaticText);
  EXPECT_EQ(resolve(name, Segment::data, sizeof kStaticText), kStaticText);
  EXPECT_NE(error_of([&] { (void)resolve(name, Segment::code); }).find("outside the executable"),
            std::string::npos);
}

TEST(ModuleAddress, AHeapAddressIsInNoModule) {
  auto heap = std::make_unique<int>(1);
  EXPECT_NE(error_of([&] {
              (void)mproc::sys::module_address(heap.get());
            }).find("is in no loaded module"),
            std::string::npos);
}

TEST(ModuleAddress, AnotherBuildOfTheModuleIsRefused) {
  for (const void* f :
       {address_of(&main_program_function), reinterpret_cast<const void*>(&remote_lib::triple)}) {
    std::vector<std::byte> name = wire(f);
    const Fields at(name);
    std::vector<std::byte> bad_id = name;
    bad_id[at.build_id_at + 3] ^= std::byte{0x40};
    EXPECT_NE(error_of([&] { (void)resolve(bad_id); }).find("is a different build"),
              std::string::npos)
        << error_of([&] { (void)resolve(bad_id); });
    std::vector<std::byte> bad_layout = name;
    bad_layout[at.hash_at] ^= std::byte{1};
    EXPECT_NE(error_of([&] { (void)resolve(bad_layout); }).find("is a different build"),
              std::string::npos);
  }
}

TEST(ModuleAddress, ALibraryNotLoadedHereIsNamedInTheError) {
  std::vector<std::byte> name = wire(reinterpret_cast<const void*>(&remote_lib::triple));
  const Fields at(name);
  for (std::size_t i = at.path_at; i < at.offset_at; ++i) name[i] = std::byte{'x'};
  for (std::size_t i = 0; i < 20 && at.build_id_at + i < at.hash_at; ++i) {
    name[at.build_id_at + i] = std::byte{0};  // nor one with its build id
  }
  const std::string e = error_of([&] { (void)resolve(name); });
  EXPECT_NE(e.find("Error: mproc: module xxxx"), std::string::npos) << e;
  EXPECT_NE(e.find("is not loaded in this process"), std::string::npos) << e;
}

TEST(ModuleAddress, AnOffsetOutsideTheModuleIsRefused) {
  std::vector<std::byte> name = wire(address_of(&main_program_function));
  const Fields at(name);
  const std::uint64_t far = std::uint64_t{1} << 40;
  std::memcpy(&name[at.offset_at], &far, 8);
  const std::string e = error_of([&] { (void)resolve(name); });
  EXPECT_NE(e.find("outside the executable segments of the main program"), std::string::npos) << e;
}

TEST(ModuleAddress, TruncatedOrMalformedBytesAreDecodeErrors) {
  const std::vector<std::byte> name = wire(reinterpret_cast<const void*>(&remote_lib::triple));
  for (std::size_t n = 0; n < name.size(); ++n) {
    std::vector<std::byte> cut(name.begin(), name.begin() + static_cast<std::ptrdiff_t>(n));
    EXPECT_EQ(error_of([&] { (void)resolve(cut); }).rfind("DecodeError", 0), 0u) << n;
  }
  std::vector<std::byte> bad_kind = name;
  bad_kind[0] = std::byte{7};
  EXPECT_EQ(error_of([&] { (void)resolve(bad_kind); }).rfind("DecodeError", 0), 0u);
  std::vector<std::byte> long_id = name;
  long_id[1] = std::byte{200};
  EXPECT_EQ(error_of([&] { (void)resolve(long_id); }).rfind("DecodeError", 0), 0u);
}

TEST(ModuleAddress, FollowsDlopenAndDlclose) {
  void* plugin = ::dlopen(MPROC_REMOTE_PLUGIN, RTLD_NOW | RTLD_LOCAL);
  ASSERT_NE(plugin, nullptr) << ::dlerror();
  void* answer = ::dlsym(plugin, "mproc_remote_plugin_answer");
  ASSERT_NE(answer, nullptr);
  const std::vector<std::byte> name = wire(answer);
  EXPECT_EQ(resolve(name), answer);
  EXPECT_EQ(reinterpret_cast<int (*)()>(const_cast<void*>(resolve(name)))(), 42);
  ASSERT_EQ(::dlclose(plugin), 0);
  const std::string e = error_of([&] { (void)resolve(name); });
  EXPECT_NE(e.find("libmproc_remote_plugin.so"), std::string::npos) << e;
  EXPECT_NE(e.find("is not loaded in this process"), std::string::npos) << e;
  // Loaded again (perhaps elsewhere): the same name finds it.
  plugin = ::dlopen(MPROC_REMOTE_PLUGIN, RTLD_NOW | RTLD_LOCAL);
  ASSERT_NE(plugin, nullptr) << ::dlerror();
  EXPECT_EQ(resolve(name), ::dlsym(plugin, "mproc_remote_plugin_answer"));
  ::dlclose(plugin);
}

TEST(ModuleAddress, ThreadsNameAndResolveWhileAnotherLoadsAndUnloadsALibrary) {
  const void* in_main = address_of(&main_program_function);
  const auto* in_lib = reinterpret_cast<const void*>(&remote_lib::triple);
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
#if defined(__SANITIZE_THREAD__)
  // ThreadSanitizer does not see the loader's internal lock that orders dl_iterate_phdr's view
  // of a module against dlclose freeing it, and reports a race on the module's name. The
  // readers below still race with each other to fill the cache.
  constexpr bool kLoader = false;
#else
  constexpr bool kLoader = true;
#endif
  if (kLoader) {
    threads.emplace_back([&] {
      for (int i = 0; i < 100; ++i) {
        void* plugin = ::dlopen(MPROC_REMOTE_PLUGIN, RTLD_NOW | RTLD_LOCAL);
        if (plugin == nullptr) {
          ++failures;
          return;
        }
        void* answer = ::dlsym(plugin, "mproc_remote_plugin_answer");
        if (answer == nullptr || resolve(wire(answer)) != answer) ++failures;
        ::dlclose(plugin);
      }
    });
  }
  for (int t = 0; t < 3; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 1000; ++i) {
        if (resolve(wire(in_main)) != in_main || resolve(wire(in_lib)) != in_lib) ++failures;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
}

}  // namespace
