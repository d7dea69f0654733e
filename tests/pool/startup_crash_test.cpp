// A start-up crash loop: every spawned worker of this binary dies before it can run anything
// (here a static initializer aborts when the test asks for it through the environment, which
// spawned children inherit). The pool must break with an Error that says so after a few
// workers, not replace them forever (it did: the map hung).
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "mproc/mproc.hpp"

namespace {

constexpr const char* kCrashVar = "MPROC_TEST_ABORT_AT_START";

// Runs before main in every process of this binary, spawned workers included.
const bool g_aborted_at_start = [] {
  if (std::getenv(kCrashVar) != nullptr) std::abort();
  return false;
}();

TEST(PoolStartupCrashLoop, WorkersThatAllDieBeforeTheirFirstItemBreakThePool) {
  ASSERT_FALSE(g_aborted_at_start);
  ASSERT_EQ(::setenv(kCrashVar, "1", 1), 0);
  std::string what;
  try {
    mproc::Pool pool(
        mproc::PoolOptions{.processes = 2, .start_method = mproc::StartMethod::spawn});
    (void)pool.map([](int x) { return x; }, std::vector<int>{1, 2, 3});
  } catch (const mproc::Error& e) {
    what = e.what();
  }
  ::unsetenv(kCrashVar);
  EXPECT_NE(what.find("keep dying before running any item"), std::string::npos) << what;
}

}  // namespace
