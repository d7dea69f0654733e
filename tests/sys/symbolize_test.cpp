#include "sys/symbolize.hpp"

#include <dlfcn.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <string>

namespace {

// Not exported (tests are linked without -rdynamic): only the file's .symtab knows these names.
__attribute__((noinline)) int local_helper(int x) { return x * 3 + 1; }

namespace inner {
__attribute__((noinline)) int overloaded(double x) { return static_cast<int>(x) + 2; }
}  // namespace inner

std::uintptr_t address_of(int (*f)(int)) { return reinterpret_cast<std::uintptr_t>(f); }

TEST(Symbolize, NamesAStaticFunctionOfTheExecutableWithItsOffset) {
  const auto start = address_of(&local_helper);
  EXPECT_EQ(mproc::sys::symbolize(start), "(anonymous namespace)::local_helper(int)+0x0");
  EXPECT_EQ(mproc::sys::symbolize(start + 2), "(anonymous namespace)::local_helper(int)+0x2");
}

TEST(Symbolize, DemanglesNamespacesAndParameterTypes) {
  const auto address = reinterpret_cast<std::uintptr_t>(&inner::overloaded);
  EXPECT_EQ(mproc::sys::symbolize(address), "(anonymous namespace)::inner::overloaded(double)+0x0");
}

TEST(Symbolize, ResolveTellsTheObjectAndWhetherItIsTheProgram) {
  mproc::sys::Symbolizer symbols;
  const auto address = address_of(&local_helper) + 1;
  mproc::sys::Symbol s = symbols.resolve(address);
  EXPECT_EQ(s.name, "(anonymous namespace)::local_helper(int)");
  EXPECT_EQ(s.offset, 1u);
  EXPECT_TRUE(s.in_main_program);
  EXPECT_EQ(s.object, "symbolize_test");
  // A second lookup uses the cached table and agrees.
  EXPECT_EQ(symbols.resolve(address).name, s.name);
}

TEST(Symbolize, NamesAFunctionOfASharedLibrary) {
  void* getpid_address = ::dlsym(RTLD_DEFAULT, "getpid");
  ASSERT_NE(getpid_address, nullptr);
  mproc::sys::Symbolizer symbols;
  mproc::sys::Symbol s = symbols.resolve(reinterpret_cast<std::uintptr_t>(getpid_address));
  EXPECT_EQ(s.name, "getpid");
  EXPECT_EQ(s.offset, 0u);
  EXPECT_FALSE(s.in_main_program);
  EXPECT_EQ(s.object.rfind("libc.so", 0), 0u) << s.object;
}

TEST(Symbolize, AnUnmappedAddressIsJustItsHexValue) {
  EXPECT_EQ(mproc::sys::symbolize(0x10), "0x10");
  mproc::sys::Symbol s = mproc::sys::Symbolizer().resolve(0x10);
  EXPECT_TRUE(s.name.empty());
  EXPECT_TRUE(s.object.empty());
}

TEST(Symbolize, HexHasNoPadding) {
  EXPECT_EQ(mproc::sys::hex(0), "0x0");
  EXPECT_EQ(mproc::sys::hex(0x1c), "0x1c");
  EXPECT_EQ(mproc::sys::hex(0xffffffffffffffffu), "0xffffffffffffffff");
}

}  // namespace
