#include "pool/crash_report.hpp"

#include <signal.h>

#include <optional>
#include <span>

#include "sys/fatal_signal.hpp"
#include "sys/fork.hpp"
#include "sys/symbolize.hpp"

namespace mproc::pool {
namespace {

// A signal handler has no other way to find its area. Process-wide, set before the handlers.
std::atomic<CrashArea*> g_area{nullptr};
// The first fatal signal of any thread writes the area; a later one just dies.
std::atomic<bool> g_claimed{false};

bool has_fault_address(int sig, int si_code) {
  // si_addr means the faulting address only when the kernel raised the signal (si_code > 0).
  return si_code > 0 &&
         (sig == SIGSEGV || sig == SIGBUS || sig == SIGILL || sig == SIGFPE || sig == SIGTRAP);
}

// Async-signal-safe: plain stores, backtrace() (prepared), then die_by_signal.
void on_fatal_signal(int sig, siginfo_t* info, void* ucontext) {
  CrashArea* area = g_area.load(std::memory_order_acquire);
  if (area != nullptr && !g_claimed.exchange(true, std::memory_order_acq_rel)) {
    area->signal = sig;
    area->si_code = info != nullptr ? info->si_code : 0;
    area->fault_address = info != nullptr && has_fault_address(sig, info->si_code)
                              ? reinterpret_cast<std::uintptr_t>(info->si_addr)
                              : 0;
    constexpr std::size_t kCapture = 64;  // the handler's frames plus kMaxFrames
    std::uintptr_t stack[kCapture];
    const std::size_t n = sys::capture_stack(stack, kCapture);
    // Skip the handler's frames (and the sigreturn trampoline): start at the interrupted
    // instruction. If it is not found, keep everything rather than guess.
    const std::uintptr_t pc = sys::interrupted_pc(ucontext);
    std::size_t start = 0;
    for (std::size_t i = 0; pc != 0 && i < n; ++i) {
      if (stack[i] == pc) {
        start = i;
        break;
      }
    }
    std::uint32_t count = 0;
    for (std::size_t i = start; i < n && count < CrashArea::kMaxFrames; ++i) {
      area->frames[count++] = stack[i];
    }
    area->frame_count = count;
    area->written.store(1, std::memory_order_release);
  }
  sys::child::die_by_signal(sig);
}

}  // namespace

void install_crash_handlers(CrashArea* area) {
  sys::prepare_stack_capture();
  area->object_count = static_cast<std::uint32_t>(sys::loaded_spans(area->objects));
  g_area.store(area, std::memory_order_release);
  sys::install_fatal_signal_handlers(&on_fatal_signal);
}

std::vector<std::string> frame_lines(const CrashArea& area) {
  std::vector<std::string> lines;
  if (area.written.load(std::memory_order_acquire) == 0) return lines;
  sys::Symbolizer symbols;
  const std::uint32_t count = std::min(area.frame_count, CrashArea::kMaxFrames);
  const std::span<const sys::LoadedSpan> theirs(
      area.objects, std::min(area.object_count, CrashArea::kMaxObjects));
  for (std::uint32_t i = 0; i < count; ++i) {
    const auto address = static_cast<std::uintptr_t>(area.frames[i]);
    // Past frame 0 each address is a return address: the call is the byte before it, which
    // for a call to a noreturn function (abort) may be the last byte of the caller.
    const std::uintptr_t adjust = i == 0 ? 0 : 1;
    // The same code here (the identity but for a spawned worker); unknown if the worker loaded
    // its object after recording them.
    const std::optional<std::uintptr_t> here =
        theirs.empty() ? std::optional(address - adjust) : sys::relocate(address - adjust, theirs);
    sys::Symbol sym = here ? symbols.resolve(*here) : sys::Symbol{};
    // append() rather than a chain of operator+: GCC 12 -O3 warns falsely (-Wrestrict) there.
    std::string line;
    line.append("#").append(std::to_string(i)).append(" ").append(sys::hex(address));
    if (!sym.name.empty()) {
      line.append(" ").append(sym.name).append(" (+").append(sys::hex(sym.offset + adjust));
      line.append(")");
      if (!sym.in_main_program && !sym.object.empty()) line.append(" in ").append(sym.object);
    } else if (!sym.object.empty()) {
      line.append(" (").append(sym.object).append("+");
      line.append(sys::hex(sym.object_offset + adjust)).append(")");
    } else {
      line.append(" ??");
    }
    lines.push_back(std::move(line));
  }
  return lines;
}

std::string describe_frames(const CrashArea& area) {
  std::string text;
  for (const auto& line : frame_lines(area)) text += "    " + line + "\n";
  return text;
}

}  // namespace mproc::pool
