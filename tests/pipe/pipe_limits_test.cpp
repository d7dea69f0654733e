// Limits of pipes, measured with a counting operator new (replaced below): a hostile peer's
// forged frames (RELIABILITY H2/H3) allocate nothing big, an oversized send allocates nothing
// big, and a small message costs no allocation at all once the connection is warm.
#include <gtest/gtest.h>
#include <malloc.h>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <new>
#include <string>
#include <thread>

#include "mproc/pipe.hpp"
#include "pipe/pipe_test_util.hpp"

namespace {
std::atomic<std::size_t> g_largest_allocation{0};
std::atomic<std::size_t> g_allocations{0};
std::atomic<long> g_live_bytes{0};

void* counted_alloc(std::size_t n) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  std::size_t seen = g_largest_allocation.load(std::memory_order_relaxed);
  while (n > seen && !g_largest_allocation.compare_exchange_weak(seen, n)) {
  }
  if (void* p = std::malloc(n == 0 ? 1 : n)) {
    g_live_bytes.fetch_add(static_cast<long>(::malloc_usable_size(p)), std::memory_order_relaxed);
    return p;
  }
  throw std::bad_alloc();
}

void counted_free(void* p) {
  if (p)
    g_live_bytes.fetch_sub(static_cast<long>(::malloc_usable_size(p)), std::memory_order_relaxed);
  std::free(p);
}
}  // namespace

void* operator new(std::size_t n) { return counted_alloc(n); }
void* operator new[](std::size_t n) { return counted_alloc(n); }
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  try {
    return counted_alloc(n);
  } catch (...) {
    return nullptr;
  }
}
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept {
  try {
    return counted_alloc(n);
  } catch (...) {
    return nullptr;
  }
}
void operator delete(void* p) noexcept { counted_free(p); }
void operator delete[](void* p) noexcept { counted_free(p); }
void operator delete(void* p, std::size_t) noexcept { counted_free(p); }
void operator delete[](void* p, std::size_t) noexcept { counted_free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { counted_free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { counted_free(p); }

namespace {

using mproc::test::forged_header;
using mproc::test::pattern;
using mproc::test::raw_write;

long rss_kib() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  }
  return -1;
}

bool says_broken(const auto& call) {
  try {
    call();
  } catch (const mproc::DecodeError&) {
    return false;
  } catch (const mproc::Error& e) {
    return std::string(e.what()).find("broken") != std::string::npos;
  }
  return false;
}

constexpr std::uint64_t kHostileLengths[] = {std::uint64_t{1} << 60, std::uint64_t{1} << 40,
                                             ~std::uint64_t{0}, (std::uint64_t{1} << 30) + 1};

TEST(PipeLimits, HugeAnnouncedLengthThrowsDecodeErrorBeforeAllocatingAndBreaksTheConnection) {
  for (std::uint64_t length : kHostileLengths) {
    SCOPED_TRACE(length);
    auto [a, b] = mproc::Pipe();  // default maximum: 1 GiB
    ASSERT_TRUE(raw_write(a.fileno(), forged_header(length)));
    ASSERT_TRUE(raw_write(a.fileno(), pattern(4096, 1)));
    const long rss_before = rss_kib();
    g_largest_allocation = 0;
    try {
      (void)b.recv_bytes();
      FAIL() << "no throw";
    } catch (const mproc::DecodeError& e) {
      EXPECT_NE(std::string(e.what()).find("max_message_size"), std::string::npos) << e.what();
    }  // anything else (std::bad_alloc included) fails the test
    EXPECT_LT(g_largest_allocation.load(), std::size_t{1} << 20);
    EXPECT_LT(rss_kib() - rss_before, 8 * 1024);
    EXPECT_TRUE(says_broken([&b = b] { (void)b.recv_bytes(); }));
  }
}

TEST(PipeLimits, HugeLengthIsRefusedOnEveryReceivePath) {
  for (int path = 0; path < 3; ++path) {
    SCOPED_TRACE(path);
    auto [a, b] = mproc::Pipe<std::string>();
    ASSERT_TRUE(raw_write(a.fileno(), forged_header(std::uint64_t{1} << 40)));
    std::vector<std::byte> out;
    g_largest_allocation = 0;
    auto receive = [&, &b = b] {
      if (path == 0) (void)b.recv();
      if (path == 1) (void)b.recv_bytes();
      if (path == 2) (void)b.recv_bytes_into(out);
    };
    EXPECT_THROW(receive(), mproc::DecodeError);
    EXPECT_LT(g_largest_allocation.load(), std::size_t{1} << 20);
    EXPECT_TRUE(says_broken(receive));
  }
}

TEST(PipeLimits, ALengthAtTheReceiversMaximumIsAcceptedAndOneMoreIsNot) {
  auto [a, b] = mproc::Pipe({.max_message_size = 100});
  ASSERT_TRUE(raw_write(a.fileno(), forged_header(100)));
  ASSERT_TRUE(raw_write(a.fileno(), pattern(100, 2)));
  EXPECT_EQ(b.recv_bytes(), pattern(100, 2));
  ASSERT_TRUE(raw_write(a.fileno(), forged_header(101)));
  EXPECT_THROW((void)b.recv_bytes(), mproc::DecodeError);
}

TEST(PipeLimits, NonZeroFlagsAreRefusedAsABadHeader) {
  auto [a, b] = mproc::Pipe();
  ASSERT_TRUE(raw_write(a.fileno(), forged_header(1, mproc::detail::ConnectionCore::kMagic, 7)));
  ASSERT_TRUE(raw_write(a.fileno(), pattern(1, 1)));
  EXPECT_THROW((void)b.recv_bytes(), mproc::DecodeError);
}

TEST(PipeLimits, RandomGarbageOnlyEverGivesDecodeErrorOrEOFError) {
  for (std::uint32_t seed = 0; seed < 200; ++seed) {
    auto [a, b] = mproc::Pipe({.max_message_size = 1 << 16});
    // Sometimes a valid header first, so garbage lands in payloads and later headers too.
    if (seed % 2) {
      ASSERT_TRUE(raw_write(a.fileno(), forged_header(seed)));
    }
    auto junk = pattern(seed * 37 % 3000, seed);
    ASSERT_TRUE(raw_write(a.fileno(), junk));
    a.close();
    int messages = 0;
    try {
      for (;;) {
        (void)b.recv_bytes();
        ++messages;
      }
    } catch (const mproc::DecodeError&) {
    } catch (const mproc::EOFError&) {
    }
    EXPECT_LE(messages, 1 + 3000 / 16);
  }
}

TEST(PipeLimits, SendOfAValueOverTheMaximumThrowsWithoutEncodingIt) {
  auto [a, b] = mproc::Pipe<std::vector<char>>({.max_message_size = 1 << 20});
  const std::vector<char> big(4 << 20, 'x');
  g_largest_allocation = 0;
  EXPECT_THROW(a.send(big), mproc::Error);
  EXPECT_LT(g_largest_allocation.load(), std::size_t{1} << 20);
  EXPECT_FALSE(b.poll());
  a.send(std::vector<char>(10, 'y'));
  EXPECT_EQ(b.recv(), std::vector<char>(10, 'y'));
}

TEST(PipeLimits, SmallMessagesAllocateNothingOnceTheConnectionIsWarm) {
  auto [a, b] = mproc::Pipe<int>();
  a.send(0);
  (void)b.recv();  // first use: the receive buffer and the send buffer
  b.send(0);
  (void)a.recv();
  g_allocations = 0;
  int sum = 0;
  for (int i = 0; i < 100; ++i) {
    a.send(i);
    sum += b.recv();
    b.send(i);
    sum += a.recv();
  }
  EXPECT_EQ(g_allocations.load(), 0u);
  EXPECT_EQ(sum, 2 * 4950);
}

TEST(PipeLimits, AMessageBiggerThanTheBufferDoesNotPinItsMemory) {
  auto [a, b] = mproc::Pipe<std::string>();
  a.send("warm");
  EXPECT_EQ(b.recv(), "warm");
  const long live_before = g_live_bytes.load();
  std::thread sender([&a = a] { a.send(std::string(8 << 20, 'z')); });
  EXPECT_EQ(b.recv().size(), std::size_t{8} << 20);
  sender.join();
  // After the next small message, neither end holds the 8 MiB it used for the big one.
  a.send("s");
  EXPECT_EQ(b.recv(), "s");
  EXPECT_LT(g_live_bytes.load() - live_before, 1 << 20);
}

}  // namespace
