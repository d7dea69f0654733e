// Crash forensics for pool workers: what a worker's crash handler records, and how the parent
// reads it after the death.
//
//   auto* area = new (shared_mapping) CrashArea;     // MAP_SHARED, allocated by the parent
//   // in the worker, after fork, before the first task:
//   install_crash_handlers(area);
//   // in the parent, once the worker is reaped:
//   if (area->written.load(std::memory_order_acquire)) info.backtrace = describe_frames(*area);
//
// The handler runs on its own stack (a stack overflow is caught too), does only async-signal-
// safe work, writes the area once (the first fatal signal of any thread wins), and re-raises the
// signal so the worker dies by it: the wait status shows the signal, as without the handler.
// describe_frames symbolizes in the parent: after fork the worker's executable and libraries are
// at the same addresses; a spawned worker's frames are relocated through the objects it recorded.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <type_traits>
#include <vector>

#include "sys/symbolize.hpp"

namespace mproc::pool {

// Lives in MAP_SHARED memory the parent allocated; pointer-free and standard-layout. (Not
// trivially copyable, because of the atomic: read it in place.)
struct CrashArea {
  static constexpr std::uint32_t kMaxFrames = 32;
  std::atomic<std::uint32_t> written{0};  // 1 once the handler filled it (release store last)
  std::int32_t signal = 0;
  std::int32_t si_code = 0;
  // si_addr of a SIGSEGV/SIGBUS/SIGILL/SIGFPE/SIGTRAP the kernel raised; 0 otherwise.
  std::uint64_t fault_address = 0;
  std::uint32_t frame_count = 0;
  // Innermost first: frames[0] is the interrupted instruction, the rest are return addresses.
  // The handler's own frames are skipped.
  std::uint64_t frames[kMaxFrames] = {};
  // The worker's loaded objects when it installed the handlers: a spawned worker's addresses are
  // not the parent's (ASLR), so the parent relocates each frame through them to symbolize it.
  static constexpr std::uint32_t kMaxObjects = 48;
  std::uint32_t object_count = 0;
  sys::LoadedSpan objects[kMaxObjects] = {};
};
static_assert(std::is_standard_layout_v<CrashArea>);
static_assert(std::atomic<std::uint32_t>::is_always_lock_free);

// In a freshly forked worker, before it runs tasks: an alternate signal stack (allocated once per
// process), the unwinder preloaded (backtrace()'s first call is not async-signal-safe), and a
// handler for SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGTRAP and SIGSYS (SA_ONSTACK |
// SA_SIGINFO | SA_RESETHAND) that fills *area and re-raises. `area` must stay mapped for the life
// of the process. Calling it again points the handler at the new area. Throws SystemError.
// The alternate stack is the calling thread's: a crash in any thread is reported, but a stack
// overflow only in the thread that installed the handlers (elsewhere the worker still dies by
// SIGSEGV, without a report).
void install_crash_handlers(CrashArea* area);

// In the parent after the worker died: the frames symbolized, one line each, e.g.
//   "#0 0x55d0c1a2b3c4 crash_here(int) (+0x1c)"
//   "#3 0x7f3a1b2c3d4e __libc_start_call_main (+0x7a) in libc.so.6"
// Empty when area.written == 0.
[[nodiscard]] std::vector<std::string> frame_lines(const CrashArea& area);

// frame_lines() indented by four spaces, each ending in '\n'; empty string if area.written == 0.
//   "    #0 0x55d0c1a2b3c4 crash_here(int) (+0x1c)\n    #1 ..."
[[nodiscard]] std::string describe_frames(const CrashArea& area);

}  // namespace mproc::pool
