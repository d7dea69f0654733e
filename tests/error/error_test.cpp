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

TEST(Error, WorkerCrashedNamesTheSignal) {
  mproc::WorkerCrashed e({.signal = SIGSEGV, .pid = 99, .index = 3});
  EXPECT_EQ(e.signal(), SIGSEGV);
  EXPECT_FALSE(e.exit_code().has_value());
  EXPECT_EQ(e.pid(), 99);
  EXPECT_EQ(e.index(), 3u);
  std::string what = e.what();
  EXPECT_NE(what.find("Segmentation fault"), std::string::npos) << what;
}

TEST(Error, WorkerCrashedWithExitCodeZeroIsStillACrash) {
  mproc::WorkerCrashed e({.exit_code = 0, .pid = 5, .index = 0});
  EXPECT_EQ(e.exit_code(), 0);
  EXPECT_NE(std::string(e.what()).find("exited with code 0"), std::string::npos) << e.what();
}

TEST(Error, TaskTimeoutCarriesTheTimeout) {
  mproc::TaskTimeout e(std::chrono::milliseconds(1500), 12, 4);
  EXPECT_EQ(e.timeout(), std::chrono::milliseconds(1500));
  EXPECT_EQ(e.pid(), 12);
  EXPECT_EQ(e.index(), 4u);
  EXPECT_NE(std::string(e.what()).find("1500 ms"), std::string::npos) << e.what();
}

}  // namespace
