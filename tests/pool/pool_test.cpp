// Pool: the calls and their results (failure semantics are in pool_failure_test.cpp). Every
// case runs under each start method (Pool.<Case>/fork, /forkserver, /spawn).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <list>
#include <optional>
#include <numeric>
#include <ranges>
#include <string>
#include <utility>
#include <vector>

#include "mproc/mproc.hpp"
#include "pool_params.hpp"

namespace {

class Pool : public mproc::test::PoolParam {};

int twice(int x) { return 2 * x; }
int add(int a, int b) { return a + b; }
std::string shout(const std::string& s) { return s + "!"; }
int pid_of(int) { return ::getpid(); }
int my_pid() { return ::getpid(); }

TEST_P(Pool, MapKeepsInputOrder) {
  mproc::Pool pool(opts(2));
  std::vector<int> in(1000);
  std::iota(in.begin(), in.end(), 0);
  auto out = pool.map(twice, in);
  ASSERT_EQ(out.size(), in.size());
  for (int i = 0; i < 1000; ++i) EXPECT_EQ(out[i], 2 * i);
}

TEST_P(Pool, MapRunsInOtherProcesses) {
  mproc::Pool pool(opts(2));
  auto pids = pool.map(pid_of, std::views::iota(0, 50));
  for (int p : pids) EXPECT_NE(p, ::getpid());
}

TEST_P(Pool, MapAcceptsAnyInputRange) {
  mproc::Pool pool(opts(2));
  std::list<std::string> words{"a", "bb", "ccc"};
  EXPECT_EQ(pool.map(shout, words), (std::vector<std::string>{"a!", "bb!", "ccc!"}));
  EXPECT_EQ(pool.map(twice, std::views::iota(0, 3)), (std::vector<int>{0, 2, 4}));
  EXPECT_TRUE(pool.map(twice, std::vector<int>{}).empty());
}

TEST_P(Pool, CaptureLessLambda) {
  mproc::Pool pool(opts(2));
  auto out = pool.map([](int x) { return x * x; }, std::vector<int>{1, 2, 3});
  EXPECT_EQ(out, (std::vector<int>{1, 4, 9}));
}

TEST_P(Pool, StarmapAndApply) {
  mproc::Pool pool(opts(2));
  std::vector<std::tuple<int, int>> pairs{{1, 2}, {3, 4}};
  EXPECT_EQ(pool.starmap(add, pairs), (std::vector<int>{3, 7}));
  EXPECT_EQ(pool.apply(add, 20, 22), 42);
  auto f = pool.apply_async(shout, std::string("hi"));
  EXPECT_EQ(f.get(), "hi!");
}

// Its arguments encode to zero bytes (found under UBSan: a memcpy from a null vector's data()).
TEST_P(Pool, ApplyWithNoArguments) {
  mproc::Pool pool(opts(1));
  EXPECT_EQ(pool.apply(my_pid), pool.worker_pids().at(0));
  auto f = pool.apply_async(my_pid);
  EXPECT_NE(f.get(), ::getpid());
}

TEST_P(Pool, MapAsync) {
  mproc::Pool pool(opts(2));
  auto f = pool.map_async(twice, std::vector<int>{1, 2, 3});
  f.wait();
  EXPECT_TRUE(f.ready());
  EXPECT_EQ(f.get(), (std::vector<int>{2, 4, 6}));
}

TEST_P(Pool, ImapIsOrderedAndLazy) {
  mproc::Pool pool(opts(2));
  std::vector<int> got;
  for (int v : pool.imap(twice, std::views::iota(0))) {  // endless input
    got.push_back(v);
    if (got.size() == 100) break;
  }
  ASSERT_EQ(got.size(), 100u);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(got[i], 2 * i);
}

TEST_P(Pool, ImapUnorderedYieldsEverything) {
  mproc::Pool pool(opts(2));
  std::vector<int> got;
  for (int v : pool.imap_unordered(twice, std::views::iota(0, 500))) got.push_back(v);
  std::sort(got.begin(), got.end());
  ASSERT_EQ(got.size(), 500u);
  for (int i = 0; i < 500; ++i) EXPECT_EQ(got[i], 2 * i);
}

// An empty input is an empty range, at once (imap used to wait for a result that never came).
TEST_P(Pool, EmptyInputsGiveEmptyResultsForEveryKindOfCall) {
  mproc::Pool pool(opts(2));
  const std::vector<int> none;
  int n = 0;
  for (int v : pool.imap(twice, none)) n += v + 1;
  for (int v : pool.imap_unordered(twice, none)) n += v + 1;
  EXPECT_EQ(n, 0);
  EXPECT_TRUE(pool.map(twice, none).empty());
  EXPECT_TRUE(pool.try_map(twice, none).empty());
  EXPECT_TRUE(pool.map_async(twice, none).get().empty());
  EXPECT_TRUE(pool.starmap([](int a, int b) { return a + b; }, std::vector<std::pair<int, int>>{})
                  .empty());
}

TEST_P(Pool, TryMapGivesEveryValue) {
  mproc::Pool pool(opts(2));
  auto rs = pool.try_map(twice, std::vector<int>{5, 6});
  ASSERT_EQ(rs.size(), 2u);
  EXPECT_TRUE(rs[0].ok());
  EXPECT_EQ(rs[1].value(), 12);
}

TEST_P(Pool, LargeArgumentsAndResults) {
  mproc::Pool pool(opts(2));
  std::string big(9 << 20, 'x');  // bigger than a ring record: sent in pieces
  auto out = pool.apply(shout, big);
  EXPECT_EQ(out.size(), big.size() + 1);
  EXPECT_EQ(out.back(), '!');
}

TEST_P(Pool, SubmitAfterCloseIsPoolClosed) {
  mproc::Pool pool(opts(1));
  pool.close();
  EXPECT_THROW(pool.apply(twice, 1), mproc::PoolClosed);
  pool.join();
}

}  // namespace

namespace {


TEST_P(Pool, DefaultSizeIsTheUsableCpuCount) {
  mproc::Pool pool(opts(0));
  EXPECT_EQ(pool.processes(), mproc::process_cpu_count());
  EXPECT_EQ(pool.worker_pids().size(), pool.processes());
}

int plus_one_for_methods(int x) { return x + 1; }

TEST_P(Pool, APoolOfOneWorks) {
  mproc::Pool pool(opts(1));
  EXPECT_EQ(pool.apply(plus_one_for_methods, 41), 42);
  EXPECT_EQ(pool.worker_pids().size(), 1u);
}

TEST_P(Pool, JoinBeforeCloseIsAnError) {
  mproc::Pool pool(opts(1));
  EXPECT_THROW(pool.join(), mproc::Error);
}

TEST_P(Pool, WaitForTellsWhetherTheResultIsReady) {
  mproc::test::TempDir dir;
  mproc::test::Gate gate(dir);
  {
    mproc::Pool pool(opts(1));
    auto f = pool.apply_async(mproc::test::pass_gate, gate.path());
    EXPECT_FALSE(f.wait_for(std::chrono::milliseconds(20)));
    EXPECT_FALSE(f.ready());
    EXPECT_FALSE(f.cancel());  // a worker holds it
    gate.open(1);
    EXPECT_TRUE(f.wait_for(std::chrono::seconds(30)));
    EXPECT_TRUE(f.ready());
    EXPECT_EQ(f.get(), 1);
  }
}

TEST_P(Pool, DestructorFinishesOutstandingWork) {
  std::optional<mproc::Future<int>> f;
  {
    mproc::Pool pool(opts(2));
    f = pool.apply_async(twice, 21);
  }
  EXPECT_TRUE(f->ready());
  EXPECT_EQ(f->get(), 42);
}

TEST_P(Pool, ProgressCallbackSeesEveryItem) {
  std::vector<mproc::Progress> seen;
  auto options = opts(2);
  options.progress_callback = [&](const mproc::Progress& p) { seen.push_back(p); };
  mproc::Pool pool(options);
  pool.map(twice, std::views::iota(0, 300));
  ASSERT_FALSE(seen.empty());
  EXPECT_EQ(seen.back().done, 300u);
  EXPECT_EQ(seen.back().total, 300u);
  for (std::size_t i = 1; i < seen.size(); ++i) EXPECT_GE(seen[i].done, seen[i - 1].done);
}

// Runs body with fd (stdout or stderr) going to a file; returns what was written. In this
// process, not a forked one: a forked copy cannot use the forkserver. MPROC_PROGRESS is
// restored afterwards.
template <class Body>
std::string captured_output(Body body, int fd) {
  char path[] = "/tmp/mproc-pool-test-XXXXXX";
  const int file = ::mkostemp(path, O_CLOEXEC);
  if (file < 0) {
    ADD_FAILURE() << "mkostemp failed";
    return {};
  }
  ::unlink(path);
  const char* env = std::getenv("MPROC_PROGRESS");
  const std::optional<std::string> saved_env = env ? std::optional<std::string>(env) : std::nullopt;
  std::fflush(nullptr);
  const int saved = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
  ::dup2(file, fd);
  body();
  std::fflush(nullptr);
  ::dup2(saved, fd);
  ::close(saved);
  if (saved_env) {
    ::setenv("MPROC_PROGRESS", saved_env->c_str(), 1);
  } else {
    ::unsetenv("MPROC_PROGRESS");
  }
  std::string out(1 << 16, '\0');
  const auto n = ::pread(file, out.data(), out.size(), 0);
  ::close(file);
  out.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
  return out;
}

TEST_P(Pool, WorkersDoNotRepeatTheParentsBufferedOutput) {
  auto out = captured_output(
      [] {
        std::printf("said once");  // buffered: stdout is a file
        mproc::Pool pool(opts(2));
        pool.map(twice, std::views::iota(0, 100));
      },
      1);
  EXPECT_EQ(out, "said once");
}

TEST_P(Pool, ProgressBarIsDrawnWhenForcedByTheOption) {
  auto out = captured_output(
      [] {
        ::unsetenv("MPROC_PROGRESS");
        auto options = opts(2);
        options.progress = true;
        options.progress_force = true;
        mproc::Pool pool(options);
        pool.map(twice, std::views::iota(0, 100));
      },
      2);
  EXPECT_NE(out.find("100/100"), std::string::npos) << out;
}

TEST_P(Pool, NoProgressBarWhenStderrIsNotATerminal) {
  auto out = captured_output(
      [] {
        ::unsetenv("MPROC_PROGRESS");
        auto options = opts(2);
        options.progress = true;
        mproc::Pool pool(options);
        pool.map(twice, std::views::iota(0, 100));
      },
      2);
  EXPECT_EQ(out, "");
}

TEST_P(Pool, ProgressBarIsDrawnWhenForced) {
  auto out = captured_output(
      [] {
        ::setenv("MPROC_PROGRESS", "1", 1);
        auto options = opts(2);
        options.progress = true;
        mproc::Pool pool(options);
        pool.map(twice, std::views::iota(0, 100));
      },
      2);
  EXPECT_NE(out.find("100/100"), std::string::npos) << out;
  ASSERT_FALSE(out.empty());
  EXPECT_EQ(out.back(), '\n');
}

MPROC_ALL_START_METHODS(Pool);

}  // namespace
