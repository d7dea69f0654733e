#include "sys/fatal_signal.hpp"

#include <execinfo.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>

#include "sys/check.hpp"

namespace mproc::sys {
namespace {

// Room for the handler, the unwinder and, under ASan, their instrumented frames.
constexpr std::size_t kAltStackSize = 256 * 1024;

}  // namespace

void install_fatal_signal_handlers(FatalSignalHandler handler) {
  // One stack per process: a worker installs once; a second call reuses the mapping. The mapping
  // is never unmapped because a handler may run on it until the process ends.
  static std::atomic<void*> alt_stack{nullptr};
  void* stack = alt_stack.load(std::memory_order_acquire);
  if (stack == nullptr) {
    const auto page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
    void* map = ::mmap(nullptr, kAltStackSize + page, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (map == MAP_FAILED) detail::throw_errno("mmap");
    // The lowest page is a guard: a handler that overflows its stack faults instead of
    // scribbling below it.
    check_unix(::mprotect(map, page, PROT_NONE), "mprotect");
    stack = static_cast<char*>(map) + page;
    void* expected = nullptr;
    if (!alt_stack.compare_exchange_strong(expected, stack, std::memory_order_acq_rel)) {
      ::munmap(map, kAltStackSize + page);
      stack = expected;
    }
  }
  stack_t ss{};
  ss.ss_sp = stack;
  ss.ss_size = kAltStackSize;
  ss.ss_flags = 0;
  check_unix(::sigaltstack(&ss, nullptr), "sigaltstack");

  struct sigaction sa {};
  sa.sa_sigaction = handler;
  sa.sa_flags = SA_ONSTACK | SA_SIGINFO | SA_RESETHAND;
  ::sigfillset(&sa.sa_mask);
  for (int sig : kFatalSignals) check_unix(::sigaction(sig, &sa, nullptr), "sigaction");
}

void prepare_stack_capture() noexcept {
  void* one[1];
  (void)::backtrace(one, 1);
}

__attribute__((noinline)) std::size_t capture_stack(std::uintptr_t* out, std::size_t max) noexcept {
  constexpr std::size_t kMax = 128;
  void* frames[kMax];
  // +1: backtrace's first entry is this function itself.
  int n = ::backtrace(frames, static_cast<int>(std::min(max + 1, kMax)));
  std::size_t count = 0;
  for (int i = 1; i < n; ++i) out[count++] = reinterpret_cast<std::uintptr_t>(frames[i]);
  return count;
}

std::uintptr_t interrupted_pc(const void* ucontext) noexcept {
  const auto* uc = static_cast<const ucontext_t*>(ucontext);
  if (uc == nullptr) return 0;
#if defined(__x86_64__)
  return static_cast<std::uintptr_t>(uc->uc_mcontext.gregs[REG_RIP]);
#elif defined(__aarch64__)
  return static_cast<std::uintptr_t>(uc->uc_mcontext.pc);
#else
  return 0;
#endif
}

}  // namespace mproc::sys
