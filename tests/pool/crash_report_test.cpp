// Crash forensics: a worker that installed the crash handlers and then crashes in a named
// function dies by its signal, and its parent reads the signal, the fault address and a stack
// that names the function from the shared CrashArea.
#include "pool/crash_report.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include <csignal>
#include <cstdlib>
#include <new>
#include <string>

#include "launch/fork.hpp"
#include "mproc/error.hpp"
#include "support/child_guard.hpp"

namespace {

using mproc::pool::CrashArea;

// The crashes. noinline so each keeps its own frame and name; volatile so the compiler can
// neither see the null nor prove the recursion endless.
volatile bool g_stop_recursion = false;

__attribute__((noinline, no_sanitize("undefined"))) void write_through_null() {
  volatile int* volatile p = nullptr;
  *p = 42;
}

__attribute__((noinline)) void call_abort() { std::abort(); }

__attribute__((noinline, no_sanitize("undefined"))) int recurse_forever(int depth) {
  volatile char frame[256];
  frame[0] = static_cast<char>(depth);
  if (g_stop_recursion) return 0;
  return recurse_forever(depth + 1) + frame[0];
}

__attribute__((noinline)) void raise_sigfpe() {
  ::raise(SIGFPE);
  asm volatile("");  // not a tail call: keep this frame on the stack
}

void overflow_the_stack() { (void)recurse_forever(0); }

// A CrashArea in an anonymous MAP_SHARED mapping, as the pool allocates it.
class SharedCrashArea {
 public:
  SharedCrashArea() {
    void* p = ::mmap(nullptr, sizeof(CrashArea), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
                     -1, 0);
    if (p == MAP_FAILED) throw std::bad_alloc();
    area_ = new (p) CrashArea;
  }
  ~SharedCrashArea() { ::munmap(area_, sizeof(CrashArea)); }
  SharedCrashArea(const SharedCrashArea&) = delete;
  SharedCrashArea& operator=(const SharedCrashArea&) = delete;
  CrashArea& operator*() const { return *area_; }
  CrashArea* get() const { return area_; }

 private:
  CrashArea* area_;
};

struct WorkerContext {
  CrashArea* area;
  void (*crash)();
};

// The worker: handlers installed right after fork, then the "task" crashes.
int crashing_worker(void* context) noexcept {
  auto* ctx = static_cast<WorkerContext*>(context);
  rlimit no_core{0, 0};
  ::setrlimit(RLIMIT_CORE, &no_core);  // the crash is deliberate: no core file
  try {
    mproc::pool::install_crash_handlers(ctx->area);
  } catch (...) {
    return 100;
  }
  ctx->crash();
  return 101;  // the crash did not kill us
}

struct Crash {
  int status = 0;
};

// Forks a worker that crashes with `crash`; returns its wait status once reaped.
Crash run_crashing_worker(CrashArea* area, void (*crash)()) {
  mproc::test::ChildGuard guard;
  WorkerContext ctx{area, crash};
  auto child = mproc::launch::fork_child(&crashing_worker, &ctx);
  guard.adopt(child.pid);
  return {guard.reap(child.pid)};
}

std::string describe(const CrashArea& area) { return mproc::pool::describe_frames(area); }

TEST(CrashReport, NullWriteDiesBySigsegvAndTheStackNamesTheFunction) {
  SharedCrashArea area;
  Crash c = run_crashing_worker(area.get(), &write_through_null);
  ASSERT_TRUE(WIFSIGNALED(c.status)) << "status " << c.status;
  EXPECT_EQ(WTERMSIG(c.status), SIGSEGV);
  ASSERT_EQ((*area).written.load(), 1u);
  EXPECT_EQ((*area).signal, SIGSEGV);
  EXPECT_EQ((*area).si_code, SEGV_MAPERR);
  EXPECT_EQ((*area).fault_address, 0u);
  ASSERT_GE((*area).frame_count, 2u);
  const std::string frames = describe(*area);
  // The handler's frames are skipped: the innermost frame is the faulting function.
  const std::string first_line = frames.substr(0, frames.find('\n'));
  EXPECT_NE(first_line.find("write_through_null"), std::string::npos) << frames;
  EXPECT_EQ(first_line.rfind("    #0 0x", 0), 0u) << frames;
  // Its caller is in the stack too.
  EXPECT_NE(frames.find("crashing_worker"), std::string::npos) << frames;
}

TEST(CrashReport, AbortDiesBySigabrtAndTheStackNamesTheCaller) {
  SharedCrashArea area;
  Crash c = run_crashing_worker(area.get(), &call_abort);
  ASSERT_TRUE(WIFSIGNALED(c.status)) << "status " << c.status;
  EXPECT_EQ(WTERMSIG(c.status), SIGABRT);
  ASSERT_EQ((*area).written.load(), 1u);
  EXPECT_EQ((*area).signal, SIGABRT);
  EXPECT_EQ((*area).fault_address, 0u);  // raised, not a fault: no address
  const std::string frames = describe(*area);
  // abort is noreturn: the return address may lie past call_abort's end; still named right.
  EXPECT_NE(frames.find("call_abort"), std::string::npos) << frames;
  EXPECT_NE(frames.find("abort"), std::string::npos) << frames;
}

TEST(CrashReport, StackOverflowIsCaughtOnTheAlternateStack) {
  SharedCrashArea area;
  Crash c = run_crashing_worker(area.get(), &overflow_the_stack);
  ASSERT_TRUE(WIFSIGNALED(c.status)) << "status " << c.status;
  EXPECT_EQ(WTERMSIG(c.status), SIGSEGV);
  ASSERT_EQ((*area).written.load(), 1u);
  EXPECT_EQ((*area).signal, SIGSEGV);
  EXPECT_NE((*area).fault_address, 0u);                   // just below the stack
  EXPECT_EQ((*area).frame_count, CrashArea::kMaxFrames);  // the recursion fills them all
  const std::string frames = describe(*area);
  EXPECT_NE(frames.substr(0, frames.find('\n')).find("recurse_forever"), std::string::npos)
      << frames;
}

TEST(CrashReport, RaisedSigfpeDiesBySigfpeAndTheStackNamesTheRaiser) {
  SharedCrashArea area;
  Crash c = run_crashing_worker(area.get(), &raise_sigfpe);
  ASSERT_TRUE(WIFSIGNALED(c.status)) << "status " << c.status;
  EXPECT_EQ(WTERMSIG(c.status), SIGFPE);
  ASSERT_EQ((*area).written.load(), 1u);
  EXPECT_EQ((*area).signal, SIGFPE);
  EXPECT_LE((*area).si_code, 0);  // SI_TKILL: sent by raise, not by the CPU
  EXPECT_EQ((*area).fault_address, 0u);
  EXPECT_NE(describe(*area).find("raise_sigfpe"), std::string::npos) << describe(*area);
}

TEST(CrashReport, NothingIsDescribedWhenTheHandlerDidNotWrite) {
  SharedCrashArea area;
  EXPECT_EQ(describe(*area), "");
  EXPECT_TRUE(mproc::pool::frame_lines(*area).empty());
}

TEST(CrashReport, WorkerCrashedBuiltFromTheAreaReadsLikeABugReport) {
  SharedCrashArea area;
  Crash c = run_crashing_worker(area.get(), &write_through_null);
  ASSERT_TRUE(WIFSIGNALED(c.status));
  // What the pool does with a dead worker's area.
  mproc::WorkerCrashed e({.signal = WTERMSIG(c.status),
                          .pid = 4242,
                          .index = 97,
                          .backtrace = describe(*area),
                          .fault_address = (*area).fault_address,
                          .frames = mproc::pool::frame_lines(*area)});
  const std::string what = e.what();
  EXPECT_EQ(what.rfind("worker 4242 crashed running task #97: killed by SIGSEGV "
                       "(Segmentation fault) at address 0x0\n  stack at the crash:\n    #0 0x",
                       0),
            0u)
      << what;
  EXPECT_NE(what.find("write_through_null"), std::string::npos) << what;
  ASSERT_FALSE(e.frames().empty());
  EXPECT_NE(e.frames()[0].find("write_through_null"), std::string::npos) << e.frames()[0];
}

}  // namespace
