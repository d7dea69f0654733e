// The main() of every mproc test binary (STYLE.md habit 11, RELIABILITY.md harness rules):
//  - a watchdog: a test that runs past its deadline (MPROC_TEST_DEADLINE seconds, default 60)
//    prints its name and dies, so a hang is a named failure, never a CI timeout;
//  - a subreaper: orphaned grandchildren come back to this process, so they are counted;
//  - a leak check after every test: no children (alive or zombie), no new fds, no new threads,
//    no new /dev/shm entries named like ours. A leak fails the test and is cleaned up.
#include <dirent.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "mproc/start_method.hpp"
#include "support/leak_check.hpp"

namespace {

char g_current_test[512];

void on_alarm(int) {
  const char head[] = "\n*** watchdog: test ";
  const char tail[] = " ran past its deadline (MPROC_TEST_DEADLINE); aborting\n";
  (void)!::write(2, head, sizeof head - 1);
  (void)!::write(2, g_current_test, ::strnlen(g_current_test, sizeof g_current_test));
  (void)!::write(2, tail, sizeof tail - 1);
  ::signal(SIGALRM, SIG_DFL);
  ::raise(SIGALRM);
}

unsigned deadline_seconds() {
  const char* s = std::getenv("MPROC_TEST_DEADLINE");
  return s ? static_cast<unsigned>(std::strtoul(s, nullptr, 10)) : 60u;
}

class Harness : public testing::EmptyTestEventListener {
  mproc::test::Snapshot before_;

  void OnTestStart(const testing::TestInfo& t) override {
    std::snprintf(g_current_test, sizeof g_current_test, "%s.%s", t.test_suite_name(), t.name());
    before_ = mproc::test::Snapshot::take();
    ::alarm(deadline_seconds());
  }
  void OnTestEnd(const testing::TestInfo&) override {
    ::alarm(0);
    for (const auto& leak : mproc::test::check_and_clean(before_)) {
      ADD_FAILURE() << "leak after test: " << leak;
    }
  }
};

}  // namespace

int main(int argc, char** argv) {
  // First: a child started with the spawn start method is this binary run again, and becomes
  // its worker here, before any test machinery starts.
  mproc::init(argc, argv);
  mproc::test::set_permanent_children(mproc::test::children());  // the forkserver
  // init made forkserver the default; most tests are written for fork (closures that capture,
  // handles inherited) and the start-method tests name their method explicitly.
  mproc::set_start_method(mproc::StartMethod::fork);
  testing::InitGoogleTest(&argc, argv);
  ::prctl(PR_SET_CHILD_SUBREAPER, 1);
  // ThreadSanitizer starts a background thread of its own with the first thread a program makes;
  // make it now, or the leak check charges it to whichever test first starts a thread.
  std::thread([] {}).join();
  ::signal(SIGALRM, on_alarm);
  // A test's ADD_FAILURE in OnTestEnd is attributed to that test: append after the printer.
  testing::UnitTest::GetInstance()->listeners().Append(new Harness);
  return RUN_ALL_TESTS();
}
