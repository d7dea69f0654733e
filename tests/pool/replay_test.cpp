// PoolOptions::replay_dir and mproc::replay under every start method: the input of an item that
// crashed its worker or timed out is saved (and only then), and replay(file, f) runs f on that
// very input here; a file of other types, a truncated or corrupt one is an Error.
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <stop_token>
#include <string>
#include <tuple>
#include <vector>

#include "mproc/replay.hpp"
#include "pool_params.hpp"

namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;
using mproc::Pool;
using mproc::PoolOptions;
using mproc::TaskTimeout;
using mproc::WorkerCrashed;

// A fresh directory, removed with everything in it however the case ends.
class ScratchDir {
 public:
  ScratchDir() {
    std::string t = (std::getenv("TMPDIR") ? std::getenv("TMPDIR") : "/tmp");
    t += "/mproc-replay-test-XXXXXX";
    if (::mkdtemp(t.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = t;
  }
  ~ScratchDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  [[nodiscard]] const fs::path& path() const noexcept { return path_; }
  [[nodiscard]] std::vector<fs::path> files() const {
    std::vector<fs::path> out;
    for (const auto& e : fs::recursive_directory_iterator(path_)) {
      if (e.is_regular_file()) out.push_back(e.path());
    }
    return out;
  }

 private:
  fs::path path_;
};

// The test process: a worker is any other (its copy of this is 0 under spawn).
int g_test_pid = 0;

// Kills its worker when x is negative; returns x + 1 elsewhere (and in replay, in the test).
int crash_on_negative(int x) {
  if (x < 0 && ::getpid() != g_test_pid) ::kill(::getpid(), SIGKILL);
  return x + 1;
}
int hang_on_seven(int x) {
  if (x == 7 && ::getpid() != g_test_pid) {
    for (;;) ::pause();
  }
  return x;
}
int throw_on_three(int x) {
  if (x == 3) throw std::runtime_error("three");
  return x;
}
std::string crash_on_text(std::string s, int n) {
  if (::getpid() != g_test_pid) ::kill(::getpid(), SIGKILL);
  return s + "/" + std::to_string(n);
}
int soft_then_throw(int x, std::stop_token st) {
  while (!st.stop_requested()) std::this_thread::yield();
  if (::getpid() != g_test_pid) mproc::throw_if_stop_requested();
  return x * 10;
}
int identity(int x) { return x; }

// One closure type for every k: its state (k) travels in the replay file.
auto make_closure(int k) {
  return [k](int x) {
    if (::getpid() != g_test_pid) ::kill(::getpid(), SIGKILL);
    return x + k;
  };
}

class PoolReplay : public mproc::test::PoolParam {
 protected:
  void SetUp() override { g_test_pid = ::getpid(); }
  [[nodiscard]] PoolOptions with_dir() const {
    auto o = opts(2);
    o.replay_dir = dir_.path() / "replays";  // made by the pool when missing
    return o;
  }
  // The error of item i of a try_map, as E.
  template <class E, class R>
  static E error_of(const std::vector<mproc::Result<R>>& out, std::size_t i) {
    if (out.at(i).ok()) throw std::logic_error("item succeeded");
    try {
      std::rethrow_exception(out[i].error());
    } catch (const E& e) {
      return e;
    }
  }
  ScratchDir dir_;
};

TEST_P(PoolReplay, CrashSavesTheInputAndReplayReproducesIt) {
  Pool pool(with_dir());
  const auto out = pool.try_map(crash_on_negative, std::vector<int>{1, -42, 3});
  ASSERT_TRUE(out[0].ok());
  ASSERT_TRUE(out[2].ok());
  const auto e = error_of<WorkerCrashed>(out, 1);
  ASSERT_FALSE(e.replay_file().empty()) << e.what();
  EXPECT_EQ(e.replay_file().parent_path(), dir_.path() / "replays");
  EXPECT_NE(std::string(e.what()).find(e.replay_file().string()), std::string::npos);
  EXPECT_EQ(dir_.files().size(), 1u);
  const auto st = fs::status(e.replay_file());
  EXPECT_EQ(st.permissions() & fs::perms::all, fs::perms::owner_read | fs::perms::owner_write);
  // f's parameter gives the type; the test process does not crash on it.
  EXPECT_EQ(mproc::replay(e.replay_file(), identity), -42);
  EXPECT_EQ(mproc::replay(e.replay_file(), crash_on_negative), -41);
  EXPECT_EQ(mproc::replay<int>(e.replay_file(), [](auto x) { return x * 2; }), -84);
}

TEST_P(PoolReplay, HardTimeoutSavesTheInput) {
  auto o = with_dir();
  o.task_timeout = 300ms;
  Pool pool(o);
  const auto out = pool.try_map(hang_on_seven, std::vector<int>{6, 7, 8});
  const auto e = error_of<TaskTimeout>(out, 1);
  EXPECT_EQ(e.limit(), mproc::TimeoutLimit::hard);
  ASSERT_FALSE(e.replay_file().empty()) << e.what();
  EXPECT_EQ(mproc::replay(e.replay_file(), identity), 7);
}

TEST_P(PoolReplay, SoftTimeoutThatThrowsSavesTheInput) {
  auto o = with_dir();
  o.soft_timeout = 20ms;
  Pool pool(o);
  const auto out = pool.try_map(soft_then_throw, std::vector<int>{5});
  const auto e = error_of<TaskTimeout>(out, 0);
  EXPECT_EQ(e.limit(), mproc::TimeoutLimit::soft);
  ASSERT_FALSE(e.replay_file().empty()) << e.what();
  // In replay the token never stops: the task would wait forever, so f is another function.
  EXPECT_EQ(mproc::replay(e.replay_file(), identity), 5);
}

TEST_P(PoolReplay, NoFileForRemoteErrorsOrSuccess) {
  Pool pool(with_dir());
  const auto out = pool.try_map(throw_on_three, std::vector<int>{1, 2, 3, 4});
  const auto e = error_of<mproc::RemoteError>(out, 2);
  EXPECT_EQ(e.remote_what(), "three");
  EXPECT_EQ(pool.map(identity, std::vector<int>{1, 2}), (std::vector<int>{1, 2}));
  EXPECT_FALSE(fs::exists(dir_.path() / "replays") && !dir_.files().empty());
}

TEST_P(PoolReplay, NoFileWithoutReplayDir) {
  ::unsetenv("MPROC_REPLAY_DIR");
  Pool pool(opts(1));
  const auto out = pool.try_map(crash_on_negative, std::vector<int>{-1});
  EXPECT_TRUE(error_of<WorkerCrashed>(out, 0).replay_file().empty());
}

TEST_P(PoolReplay, EnvironmentVariableSetsTheDirectory) {
  ::setenv("MPROC_REPLAY_DIR", dir_.path().c_str(), 1);
  std::vector<mproc::Result<int>> out;
  {
    Pool pool(opts(1));
    out = pool.try_map(crash_on_negative, std::vector<int>{-5});
  }
  ::unsetenv("MPROC_REPLAY_DIR");
  const auto e = error_of<WorkerCrashed>(out, 0);
  ASSERT_FALSE(e.replay_file().empty());
  EXPECT_EQ(e.replay_file().parent_path(), dir_.path());
  EXPECT_EQ(mproc::replay(e.replay_file(), identity), -5);
}

TEST_P(PoolReplay, ApplyArgumentsReplayAsATuple) {
  Pool pool(with_dir());
  auto f = pool.apply_async(crash_on_text, std::string("abc"), 9);
  try {
    (void)f.get();
    FAIL() << "no crash";
  } catch (const WorkerCrashed& e) {
    ASSERT_FALSE(e.replay_file().empty());
    EXPECT_EQ(mproc::replay(e.replay_file(), crash_on_text), "abc/9");
    EXPECT_EQ((mproc::replay<std::string, int>(e.replay_file(),
                                               [](const std::string& s, int n) {
                                                 return s.size() + static_cast<std::size_t>(n);
                                               })),
              12u);
    // The same bytes are not one int.
    EXPECT_THROW(mproc::replay(e.replay_file(), identity), mproc::Error);
  }
}

int crash_on_pair(int a, int b) {
  if (::getpid() != g_test_pid) ::kill(::getpid(), SIGKILL);
  return a * 100 + b;
}

TEST_P(PoolReplay, StarmapOverPairsReplays) {
  Pool pool(with_dir());
  const std::vector<std::pair<int, int>> pairs{{4, 2}};
  const auto out = pool.try_map([](std::pair<int, int> p) { return p.first; }, pairs);
  ASSERT_TRUE(out[0].ok());  // (a map over pairs, no crash: nothing saved)
  try {
    (void)pool.starmap(crash_on_pair, pairs);
    FAIL() << "no crash";
  } catch (const WorkerCrashed& e) {
    ASSERT_FALSE(e.replay_file().empty());
    EXPECT_EQ(mproc::replay(e.replay_file(), crash_on_pair), 402);
  }
  EXPECT_EQ(dir_.files().size(), 1u);
}

TEST_P(PoolReplay, ClosureStateComesFromTheFile) {
  Pool pool(with_dir());
  const auto out = pool.try_map(make_closure(100), std::vector<int>{1});
  const auto e = error_of<WorkerCrashed>(out, 0);
  ASSERT_FALSE(e.replay_file().empty());
  // The same closure type with other captures: the saved k (100) is used.
  EXPECT_EQ(mproc::replay(e.replay_file(), make_closure(5)), 101);
  // Another callable is called as given.
  EXPECT_EQ(mproc::replay(e.replay_file(), identity), 1);
}

std::vector<char> read_all(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}
void write_all(const fs::path& p, const std::vector<char>& bytes) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}
void expect_replay_error(const fs::path& p, const std::string& needle) {
  try {
    (void)mproc::replay(p, identity);
    ADD_FAILURE() << p << ": no error";
  } catch (const mproc::Error& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

TEST_P(PoolReplay, CorruptTruncatedAndMismatchedFilesAreErrors) {
  fs::path saved;
  {
    Pool pool(with_dir());
    const auto out = pool.try_map(crash_on_negative, std::vector<int>{-3});
    saved = error_of<WorkerCrashed>(out, 0).replay_file();
  }
  ASSERT_FALSE(saved.empty());
  const auto good = read_all(saved);
  ASSERT_GT(good.size(), 72u);
  // Other argument types.
  try {
    (void)mproc::replay(saved, [](const std::string& s) { return s; });
    ADD_FAILURE() << "no error";
  } catch (const mproc::Error& e) {
    EXPECT_NE(std::string(e.what()).find("holds an input of type int"), std::string::npos)
        << e.what();
  }
  const fs::path bad = dir_.path() / "bad.bin";
  auto truncated = good;
  truncated.pop_back();
  write_all(bad, truncated);
  expect_replay_error(bad, "truncated");
  write_all(bad, std::vector<char>(good.begin(), good.begin() + 10));
  expect_replay_error(bad, "truncated");
  auto flipped = good;
  flipped.back() = static_cast<char>(flipped.back() ^ 0x5a);
  write_all(bad, flipped);
  expect_replay_error(bad, "checksum");
  auto longer = good;
  longer.push_back('x');
  write_all(bad, longer);
  expect_replay_error(bad, "trailing");
  write_all(bad, std::vector<char>(200, 'z'));
  expect_replay_error(bad, "magic");
  write_all(bad, {});
  expect_replay_error(bad, "header");
  expect_replay_error(dir_.path() / "missing.bin", "open");
  expect_replay_error(dir_.path(), "");  // a directory
  // The intact file still replays.
  EXPECT_EQ(mproc::replay(saved, identity), -3);
}

MPROC_ALL_START_METHODS(PoolReplay);

}  // namespace
