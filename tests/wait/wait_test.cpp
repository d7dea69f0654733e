#include "mproc/wait.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <pthread.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "mproc/pipe.hpp"
#include "mproc/process.hpp"
#include "support/child_guard.hpp"

namespace {

using namespace std::chrono_literals;
using Indices = std::vector<std::size_t>;

// Stands in for mproc::Process: sentinel() is a pidfd, readable once the child has ended.
class FakeProcess {
 public:
  explicit FakeProcess(int pid) : pidfd_(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0))) {}
  ~FakeProcess() {
    if (pidfd_ >= 0) ::close(pidfd_);
  }
  FakeProcess(const FakeProcess&) = delete;
  FakeProcess& operator=(const FakeProcess&) = delete;
  [[nodiscard]] int sentinel() const { return pidfd_; }

 private:
  int pidfd_;
};

class RawPipe {
 public:
  RawPipe() { EXPECT_EQ(::pipe2(fds_, O_CLOEXEC), 0); }
  ~RawPipe() {
    ::close(fds_[0]);
    ::close(fds_[1]);
  }
  RawPipe(const RawPipe&) = delete;
  RawPipe& operator=(const RawPipe&) = delete;
  [[nodiscard]] int read_end() const { return fds_[0]; }
  [[nodiscard]] int write_end() const { return fds_[1]; }

 private:
  int fds_[2];
};

TEST(Wait, ReturnsTheIndicesOfTheReadyConnections) {
  auto [a0, b0] = mproc::Pipe<int>();
  auto [a1, b1] = mproc::Pipe<int>();
  auto [a2, b2] = mproc::Pipe<int>();
  b0.send(1);
  b2.send(3);
  EXPECT_EQ(mproc::wait({a0, a1, a2}, 1s), (Indices{0, 2}));
  EXPECT_EQ(mproc::wait({a1}, 0ms), Indices{});
  EXPECT_EQ(a2.recv(), 3);
  EXPECT_EQ(mproc::wait({a0, a1, a2}), (Indices{0}));
}

TEST(Wait, TimesOutWithAnEmptyResult) {
  auto [a, b] = mproc::Pipe<int>();
  auto [c, d] = mproc::Pipe<int>();
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_TRUE(mproc::wait({a, c}, 30ms).empty());
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 30ms);
  EXPECT_TRUE(mproc::wait({a, c}, 0ms).empty());
  EXPECT_TRUE(mproc::wait({a, c}, -1s).empty());
}

TEST(Wait, APeerThatClosedCountsAsReady) {
  auto [a, b] = mproc::Pipe<int>();
  auto [c, d] = mproc::Pipe<int>();
  d.close();
  EXPECT_EQ(mproc::wait({a, c}, 1s), (Indices{1}));
  EXPECT_THROW((void)c.recv(), mproc::EOFError);
}

TEST(Wait, SeesMessagesAConnectionHasAlreadyBuffered) {
  auto [a, b] = mproc::Pipe<int>();
  b.send(1);
  b.send(2);  // both arrive in a's buffer with the first recv: the socket itself is then empty
  EXPECT_EQ(a.recv(), 1);
  EXPECT_EQ(mproc::wait({a}, 0ms), (Indices{0}));
  EXPECT_EQ(a.recv(), 2);
  EXPECT_TRUE(mproc::wait({a}, 0ms).empty());
}

TEST(Wait, AcceptsAVectorOfConnectionsAndAVectorOfPointers) {
  std::vector<mproc::Connection<int>> receivers, senders;
  for (int i = 0; i < 12; ++i) {
    auto [a, b] = mproc::Pipe<int>();
    receivers.push_back(std::move(a));
    senders.push_back(std::move(b));
  }
  senders[3].send(3);
  senders[11].send(11);
  EXPECT_EQ(mproc::wait(receivers, 1s), (Indices{3, 11}));
  std::vector<const mproc::Connection<int>*> some = {&receivers[11], &receivers[0]};
  EXPECT_EQ(mproc::wait(some, 1s), (Indices{0}));
}

TEST(Wait, WorksWithARawFd) {
  RawPipe p;
  auto [a, b] = mproc::Pipe<int>();
  EXPECT_TRUE(mproc::wait({a, p.read_end()}, 0ms).empty());
  ASSERT_EQ(::write(p.write_end(), "x", 1), 1);
  EXPECT_EQ(mproc::wait({a, p.read_end()}, 1s), (Indices{1}));
  std::vector<int> fds = {p.read_end()};
  EXPECT_EQ(mproc::wait(fds, 0ms), (Indices{0}));
}

TEST(Wait, WorksWithAnObjectThatHasASentinel) {
  mproc::test::ChildGuard guard;
  RawPipe go;
  int pid = ::fork();
  if (pid == 0) {
    char c;
    (void)!::read(go.read_end(), &c, 1);  // exits when told to (or when the parent is gone)
    ::_exit(0);
  }
  guard.adopt(pid);
  FakeProcess child(pid);
  ASSERT_GE(child.sentinel(), 0) << "pidfd_open failed";
  auto [a, b] = mproc::Pipe<int>();
  EXPECT_TRUE(mproc::wait({a, child}, 0ms).empty());
  ASSERT_EQ(::write(go.write_end(), "x", 1), 1);
  EXPECT_EQ(mproc::wait({a, child}), (Indices{1}));  // no timeout: waits for the exit
  int status = guard.reap(pid);
  EXPECT_TRUE(WIFEXITED(status));
}

TEST(Wait, MixesRealProcessesAndConnections) {
  auto [parent, child] = mproc::Pipe<int>();
  mproc::Process quick([] {});
  mproc::Process replier([](mproc::Connection<int>& c) { c.send(c.recv() * 2); }, std::ref(child));
  replier.start();
  EXPECT_TRUE(mproc::wait({parent, replier}, 0ms).empty());  // the replier waits for a request
  quick.start();
  EXPECT_EQ(mproc::wait({parent, quick, replier}), (Indices{1}));  // only `quick` has ended
  quick.join();
  parent.send(21);
  auto ready = mproc::wait({parent, replier}, 30s);
  ASSERT_FALSE(ready.empty());
  EXPECT_EQ(ready[0], 0u);  // the reply arrives before (or as) the replier exits
  EXPECT_EQ(parent.recv(), 42);
  replier.join();
  EXPECT_EQ(mproc::wait({parent, replier}, 0ms), (Indices{1}));  // process ended; no more data
}

TEST(Wait, WaitsForeverUntilAnotherThreadSends) {
  auto [a, b] = mproc::Pipe<int>();
  auto [c, d] = mproc::Pipe<int>();
  std::thread sender([&d = d] { d.send(1); });
  EXPECT_EQ(mproc::wait({a, c}, std::nullopt), (Indices{1}));
  sender.join();
}

TEST(Wait, SignalsDoNotShortenTheTimeout) {
  struct sigaction sa {
  }, old{};
  sa.sa_handler = [](int) {};
  sigemptyset(&sa.sa_mask);
  ::sigaction(SIGUSR1, &sa, &old);  // no SA_RESTART: ppoll sees EINTR
  const pthread_t main_thread = ::pthread_self();
  std::atomic<bool> stop{false};
  std::thread storm([&] {
    while (!stop.load()) {
      ::pthread_kill(main_thread, SIGUSR1);
      std::this_thread::sleep_for(200us);  // pacing only
    }
  });
  auto [a, b] = mproc::Pipe<int>();
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_TRUE(mproc::wait({a}, 100ms).empty());
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 100ms);
  stop = true;
  storm.join();
  ::sigaction(SIGUSR1, &old, nullptr);
}

TEST(Wait, AClosedConnectionOrFdThrows) {
  auto [a, b] = mproc::Pipe<int>();
  a.close();
  EXPECT_THROW((void)mproc::wait({a}, 0ms), mproc::Error);
  int fd;
  {
    RawPipe p;
    fd = p.read_end();
  }
  EXPECT_THROW((void)mproc::wait({fd}, 0ms), mproc::SystemError);
}

}  // namespace
