// Pool: the calls and their results (failure semantics are in pool_failure_test.cpp).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <optional>

#include <list>
#include <numeric>
#include <ranges>
#include <string>
#include <vector>

#include "mproc/mproc.hpp"

namespace {

int twice(int x) { return 2 * x; }
int add(int a, int b) { return a + b; }
std::string shout(const std::string& s) { return s + "!"; }
int pid_of(int) { return ::getpid(); }
int my_pid() { return ::getpid(); }

TEST(Pool, MapKeepsInputOrder) {
  mproc::Pool pool(2);
  std::vector<int> in(1000);
  std::iota(in.begin(), in.end(), 0);
  auto out = pool.map(twice, in);
  ASSERT_EQ(out.size(), in.size());
  for (int i = 0; i < 1000; ++i) EXPECT_EQ(out[i], 2 * i);
}

TEST(Pool, MapRunsInOtherProcesses) {
  mproc::Pool pool(2);
  auto pids = pool.map(pid_of, std::views::iota(0, 50));
  for (int p : pids) EXPECT_NE(p, ::getpid());
}

TEST(Pool, MapAcceptsAnyInputRange) {
  mproc::Pool pool(2);
  std::list<std::string> words{"a", "bb", "ccc"};
  EXPECT_EQ(pool.map(shout, words), (std::vector<std::string>{"a!", "bb!", "ccc!"}));
  EXPECT_EQ(pool.map(twice, std::views::iota(0, 3)), (std::vector<int>{0, 2, 4}));
  EXPECT_TRUE(pool.map(twice, std::vector<int>{}).empty());
}

TEST(Pool, CaptureLessLambda) {
  mproc::Pool pool(2);
  auto out = pool.map([](int x) { return x * x; }, std::vector<int>{1, 2, 3});
  EXPECT_EQ(out, (std::vector<int>{1, 4, 9}));
}

TEST(Pool, StarmapAndApply) {
  mproc::Pool pool(2);
  std::vector<std::tuple<int, int>> pairs{{1, 2}, {3, 4}};
  EXPECT_EQ(pool.starmap(add, pairs), (std::vector<int>{3, 7}));
  EXPECT_EQ(pool.apply(add, 20, 22), 42);
  auto f = pool.apply_async(shout, std::string("hi"));
  EXPECT_EQ(f.get(), "hi!");
}

// Its arguments encode to zero bytes (found under UBSan: a memcpy from a null vector's data()).
TEST(Pool, ApplyWithNoArguments) {
  mproc::Pool pool(1);
  EXPECT_EQ(pool.apply(my_pid), pool.worker_pids().at(0));
  auto f = pool.apply_async(my_pid);
  EXPECT_NE(f.get(), ::getpid());
}

TEST(Pool, MapAsync) {
  mproc::Pool pool(2);
  auto f = pool.map_async(twice, std::vector<int>{1, 2, 3});
  f.wait();
  EXPECT_TRUE(f.ready());
  EXPECT_EQ(f.get(), (std::vector<int>{2, 4, 6}));
}

TEST(Pool, ImapIsOrderedAndLazy) {
  mproc::Pool pool(2);
  std::vector<int> got;
  for (int v : pool.imap(twice, std::views::iota(0))) {  // endless input
    got.push_back(v);
    if (got.size() == 100) break;
  }
  ASSERT_EQ(got.size(), 100u);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(got[i], 2 * i);
}

TEST(Pool, ImapUnorderedYieldsEverything) {
  mproc::Pool pool(2);
  std::vector<int> got;
  for (int v : pool.imap_unordered(twice, std::views::iota(0, 500))) got.push_back(v);
  std::sort(got.begin(), got.end());
  ASSERT_EQ(got.size(), 500u);
  for (int i = 0; i < 500; ++i) EXPECT_EQ(got[i], 2 * i);
}

TEST(Pool, TryMapGivesEveryValue) {
  mproc::Pool pool(2);
  auto rs = pool.try_map(twice, std::vector<int>{5, 6});
  ASSERT_EQ(rs.size(), 2u);
  EXPECT_TRUE(rs[0].ok());
  EXPECT_EQ(rs[1].value(), 12);
}

TEST(Pool, LargeArgumentsAndResults) {
  mproc::Pool pool(2);
  std::string big(9 << 20, 'x');  // bigger than a ring record: sent in pieces
  auto out = pool.apply(shout, big);
  EXPECT_EQ(out.size(), big.size() + 1);
  EXPECT_EQ(out.back(), '!');
}

TEST(Pool, SubmitAfterCloseIsPoolClosed) {
  mproc::Pool pool(1);
  pool.close();
  EXPECT_THROW(pool.apply(twice, 1), mproc::PoolClosed);
  pool.join();
}

}  // namespace

namespace {

int block_on(int fd) {
  char c;
  return static_cast<int>(::read(fd, &c, 1));
}

TEST(Pool, DefaultSizeIsTheUsableCpuCount) {
  mproc::Pool pool;
  EXPECT_EQ(pool.processes(), mproc::process_cpu_count());
  EXPECT_EQ(pool.worker_pids().size(), pool.processes());
}

int plus_one_for_methods(int x) { return x + 1; }

TEST(Pool, EveryStartMethodMakesAWorkingPool) {
  for (auto method : {mproc::StartMethod::fork, mproc::StartMethod::spawn,
                      mproc::StartMethod::forkserver}) {
    mproc::Pool pool(mproc::PoolOptions{.processes = 1, .start_method = method});
    EXPECT_EQ(pool.apply(plus_one_for_methods, 41), 42) << mproc::to_string(method);
  }
}

TEST(Pool, JoinBeforeCloseIsAnError) {
  mproc::Pool pool(1);
  EXPECT_THROW(pool.join(), mproc::Error);
}

TEST(Pool, WaitForTellsWhetherTheResultIsReady) {
  int fds[2];
  ASSERT_EQ(::pipe2(fds, O_CLOEXEC), 0);
  {
    mproc::Pool pool(1);
    auto f = pool.apply_async(block_on, fds[0]);
    EXPECT_FALSE(f.wait_for(std::chrono::milliseconds(20)));
    EXPECT_FALSE(f.ready());
    EXPECT_FALSE(f.cancel());  // a worker holds it
    ASSERT_EQ(::write(fds[1], "x", 1), 1);
    EXPECT_TRUE(f.wait_for(std::chrono::seconds(30)));
    EXPECT_TRUE(f.ready());
    EXPECT_EQ(f.get(), 1);
  }
  ::close(fds[0]);
  ::close(fds[1]);
}

TEST(Pool, DestructorFinishesOutstandingWork) {
  std::optional<mproc::Future<int>> f;
  {
    mproc::Pool pool(2);
    f = pool.apply_async(twice, 21);
  }
  EXPECT_TRUE(f->ready());
  EXPECT_EQ(f->get(), 42);
}

TEST(Pool, ProgressCallbackSeesEveryItem) {
  std::vector<mproc::Progress> seen;
  mproc::Pool pool(mproc::PoolOptions{
      .processes = 2, .progress_callback = [&](const mproc::Progress& p) { seen.push_back(p); }});
  pool.map(twice, std::views::iota(0, 300));
  ASSERT_FALSE(seen.empty());
  EXPECT_EQ(seen.back().done, 300u);
  EXPECT_EQ(seen.back().total, 300u);
  for (std::size_t i = 1; i < seen.size(); ++i) EXPECT_GE(seen[i].done, seen[i - 1].done);
}

// Runs body in a forked child whose stdout/stderr go to a file; returns what was written.
template <class Body>
std::string captured_output(Body body, int fd) {
  char path[] = "/tmp/mproc-pool-test-XXXXXX";
  const int file = ::mkostemp(path, O_CLOEXEC);
  EXPECT_GE(file, 0);
  ::unlink(path);
  const int pid = ::fork();
  if (pid == 0) {
    ::dup2(file, fd);
    body();
    std::fflush(nullptr);
    ::_exit(0);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  std::string out(1 << 16, '\0');
  const auto n = ::pread(file, out.data(), out.size(), 0);
  ::close(file);
  out.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
  return out;
}

TEST(Pool, WorkersDoNotRepeatTheParentsBufferedOutput) {
  auto out = captured_output(
      [] {
        std::printf("said once");  // buffered: stdout is a file
        mproc::Pool pool(2);
        pool.map(twice, std::views::iota(0, 100));
      },
      1);
  EXPECT_EQ(out, "said once");
}

TEST(Pool, ProgressBarIsDrawnWhenForcedByTheOption) {
  auto out = captured_output(
      [] {
        ::unsetenv("MPROC_PROGRESS");
        mproc::Pool pool(
            mproc::PoolOptions{.processes = 2, .progress = true, .progress_force = true});
        pool.map(twice, std::views::iota(0, 100));
      },
      2);
  EXPECT_NE(out.find("100/100"), std::string::npos) << out;
}

TEST(Pool, NoProgressBarWhenStderrIsNotATerminal) {
  auto out = captured_output(
      [] {
        ::unsetenv("MPROC_PROGRESS");
        mproc::Pool pool(mproc::PoolOptions{.processes = 2, .progress = true});
        pool.map(twice, std::views::iota(0, 100));
      },
      2);
  EXPECT_EQ(out, "");
}

TEST(Pool, ProgressBarIsDrawnWhenForced) {
  auto out = captured_output(
      [] {
        ::setenv("MPROC_PROGRESS", "1", 1);
        mproc::Pool pool(mproc::PoolOptions{.processes = 2, .progress = true});
        pool.map(twice, std::views::iota(0, 100));
      },
      2);
  EXPECT_NE(out.find("100/100"), std::string::npos) << out;
  ASSERT_FALSE(out.empty());
  EXPECT_EQ(out.back(), '\n');
}

}  // namespace
