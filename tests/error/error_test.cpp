#include "mproc/error.hpp"

#include <gtest/gtest.h>

#include <cerrno>
#include <csignal>

namespace {

TEST(Error, SystemErrorWhatNamesTheCallAndErrnoText) {
  try {
    mproc::detail::throw_errno("memfd_create", EMFILE);
    FAIL() << "throw_errno returned";
  } catch (const mproc::SystemError& e) {
    EXPECT_STREQ(e.what(), "memfd_create: Too many open files");
    EXPECT_EQ(e.call(), "memfd_create");
    EXPECT_EQ(e.code(), std::error_code(EMFILE, std::system_category()));
  }
}

TEST(Error, EveryErrorDerivesFromMprocErrorAndRuntimeError) {
  auto is_both = [](const auto& e) {
    const std::exception* p = &e;
    return dynamic_cast<const mproc::Error*>(p) != nullptr &&
           dynamic_cast<const std::runtime_error*>(p) != nullptr;
  };
  EXPECT_TRUE(is_both(mproc::SystemError("x", std::error_code(EIO, std::system_category()))));
  EXPECT_TRUE(is_both(mproc::DecodeError("bad")));
  EXPECT_TRUE(is_both(mproc::EOFError()));
  EXPECT_TRUE(is_both(mproc::RemoteError("T", "w", 1, 2)));
  EXPECT_TRUE(is_both(mproc::WorkerCrashed({})));
  EXPECT_TRUE(is_both(mproc::TaskTimeout(std::chrono::milliseconds(5), 1, 2)));
  EXPECT_TRUE(is_both(mproc::PoolClosed()));
  EXPECT_TRUE(is_both(mproc::Cancelled()));
  EXPECT_TRUE(is_both(mproc::OwnerDied()));
}

TEST(Error, RemoteErrorCarriesItsFieldsAndQuotesTheRemoteWhat) {
  mproc::RemoteError e("std::invalid_argument", "bad pixel", 4242, 7);
  EXPECT_EQ(e.type_name(), "std::invalid_argument");
  EXPECT_EQ(e.remote_what(), "bad pixel");
  EXPECT_EQ(e.pid(), 4242);
  EXPECT_EQ(e.index(), 7u);
  std::string what = e.what();
  EXPECT_NE(what.find("bad pixel"), std::string::npos) << what;
  EXPECT_NE(what.find("std::invalid_argument"), std::string::npos) << what;
  EXPECT_NE(what.find("4242"), std::string::npos) << what;
  EXPECT_NE(what.find("#7"), std::string::npos) << what;
}

TEST(Error, RemoteErrorNamesItsMpiRankWhenItHasOne) {
  EXPECT_FALSE(mproc::RemoteError("E", "x", 1, 0).rank().has_value());
  mproc::RemoteError e("std::invalid_argument", "bad pixel", 4242, 7, 3);
  EXPECT_EQ(e.rank(), 3);
  EXPECT_EQ(e.index(), 7u);
  EXPECT_EQ(e.pid(), 4242);
  const std::string what = e.what();
  EXPECT_NE(what.find("on rank 3"), std::string::npos) << what;
  EXPECT_NE(what.find("bad pixel"), std::string::npos) << what;
}

TEST(Error, WorkerCrashedNamesTheSignal) {
  mproc::WorkerCrashed e({.signal = SIGSEGV, .pid = 99, .index = 3});
  EXPECT_EQ(e.signal(), SIGSEGV);
  EXPECT_FALSE(e.exit_code().has_value());
  EXPECT_EQ(e.pid(), 99);
  EXPECT_EQ(e.index(), 3u);
  EXPECT_FALSE(e.oom_killed());
  EXPECT_TRUE(e.frames().empty());
  // No crash report: no address (0 would be a guess) and no stack.
  EXPECT_STREQ(e.what(),
               "worker 99 crashed running task #3: killed by SIGSEGV (Segmentation fault)");
}

TEST(Error, WorkerCrashedShowsTheFaultAddressAndTheStackFromTheCrashReport) {
  mproc::WorkerCrashed e(
      {.signal = SIGSEGV,
       .pid = 4242,
       .index = 97,
       .backtrace = "    #0 0x1000 crash_here(int) (+0x1c)\n    #1 0x2000 main (+0x40)\n",
       .fault_address = 0x10,
       .frames = {"#0 0x1000 crash_here(int) (+0x1c)", "#1 0x2000 main (+0x40)"}});
  EXPECT_EQ(e.fault_address(), 0x10u);
  ASSERT_EQ(e.frames().size(), 2u);
  EXPECT_EQ(e.frames()[0], "#0 0x1000 crash_here(int) (+0x1c)");
  EXPECT_STREQ(e.what(),
               "worker 4242 crashed running task #97: killed by SIGSEGV (Segmentation fault) at "
               "address 0x10\n"
               "  stack at the crash:\n"
               "    #0 0x1000 crash_here(int) (+0x1c)\n"
               "    #1 0x2000 main (+0x40)");
}

TEST(Error, WorkerCrashedWithOnlyABacktraceTextShowsIt) {
  mproc::WorkerCrashed e({.signal = SIGABRT, .pid = 1, .index = 0, .backtrace = "    #0 0x1 f\n"});
  EXPECT_STREQ(e.what(),
               "worker 1 crashed running task #0: killed by SIGABRT (Aborted)\n"
               "  stack at the crash:\n"
               "    #0 0x1 f");
}

TEST(Error, WorkerCrashedSaysWhenTheOomKillerDidIt) {
  mproc::WorkerCrashed e({.signal = SIGKILL, .pid = 8, .index = 12, .oom_killed = true});
  EXPECT_TRUE(e.oom_killed());
  EXPECT_STREQ(e.what(),
               "worker 8 crashed running task #12: killed by SIGKILL (Killed) \u2014 killed by the "
               "kernel's OOM killer");
}

TEST(Error, WorkerCrashedWithExitCodeZeroIsStillACrash) {
  mproc::WorkerCrashed e({.exit_code = 0, .pid = 5, .index = 0});
  EXPECT_EQ(e.exit_code(), 0);
  EXPECT_STREQ(e.what(), "worker 5 exited with code 0 while running task #0");
}

TEST(Error, WorkerCrashedWithNeitherSignalNorExitCodeStillNamesTheTask) {
  mproc::WorkerCrashed e({.pid = 6, .index = 4});
  EXPECT_STREQ(e.what(), "worker 6 died while running task #4");
}

TEST(Error, TaskTimeoutCarriesTheTimeout) {
  mproc::TaskTimeout e(std::chrono::milliseconds(1500), 12, 4);
  EXPECT_EQ(e.timeout(), std::chrono::milliseconds(1500));
  EXPECT_EQ(e.pid(), 12);
  EXPECT_EQ(e.index(), 4u);
  EXPECT_NE(std::string(e.what()).find("1500 ms"), std::string::npos) << e.what();
}

}  // namespace
