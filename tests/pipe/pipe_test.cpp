#include "mproc/pipe.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <pthread.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "pipe/pipe_test_util.hpp"
#include "support/child_guard.hpp"

namespace {

using mproc::test::forged_header;
using mproc::test::pattern;
using mproc::test::raw_write;
using namespace std::chrono_literals;
using Bytes = std::vector<std::byte>;
constexpr std::size_t kHeader = mproc::detail::ConnectionCore::kHeaderSize;
constexpr std::size_t kBuffer = mproc::detail::ConnectionCore::kBufferSize;

struct Point {
  int x;
  double y;
  bool operator==(const Point&) const = default;
};

// Runs fn in a forked child; the child's exit status is fn's return value (any throw: 99).
template <class F>
int fork_child(mproc::test::ChildGuard& guard, F fn) {
  int pid = ::fork();
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // a failed test's child never outlives it
    int rc = 99;
    try {
      rc = fn();
    } catch (...) {
    }
    ::_exit(rc);
  }
  guard.adopt(pid);
  return pid;
}

// A SIGUSR1 handler installed without SA_RESTART, so blocking calls see EINTR.
class InterruptingSignal {
 public:
  InterruptingSignal() {
    struct sigaction sa {};
    sa.sa_handler = [](int) {};
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;
    ::sigaction(SIGUSR1, &sa, &old_);
  }
  ~InterruptingSignal() { ::sigaction(SIGUSR1, &old_, nullptr); }

 private:
  struct sigaction old_ {};
};

TEST(Pipe, SendBytesRoundTripsInBothDirections) {
  auto [a, b] = mproc::Pipe();
  const Bytes hello = pattern(100, 1);
  const Bytes world = pattern(37, 2);
  a.send_bytes(hello);
  b.send_bytes(world);
  EXPECT_EQ(b.recv_bytes(), hello);
  EXPECT_EQ(a.recv_bytes(), world);
}

TEST(Pipe, TypedValuesRoundTripInBothDirections) {
  auto [a, b] = mproc::Pipe<Point>();
  a.send(Point{1, 2.5});
  b.send(Point{-3, 1e300});
  EXPECT_EQ(b.recv(), (Point{1, 2.5}));
  EXPECT_EQ(a.recv(), (Point{-3, 1e300}));
}

struct Job {
  std::string name;
  std::vector<double> xs;
  std::map<std::string, int> counts;
  template <class Ar>
  void serialize(Ar& ar) {
    ar(name, xs, counts);
  }
  bool operator==(const Job&) const = default;
};

TEST(Pipe, ContainersAndSerializableTypesRoundTrip) {
  using Msg = std::variant<std::string, Job, std::optional<std::vector<int>>>;
  auto [a, b] = mproc::Pipe<Msg>();
  const std::vector<Msg> sent = {
      Msg(std::string("hello")),
      Msg(Job{"j", {1.5, -2}, {{"x", 1}, {"y", 2}}}),
      Msg(std::optional<std::vector<int>>()),
      Msg(std::optional<std::vector<int>>(std::vector<int>(100000, 7))),
  };
  std::thread sender([&a = a, &sent] {
    for (const Msg& m : sent) a.send(m);
  });
  for (const Msg& m : sent) EXPECT_EQ(b.recv(), m);
  sender.join();
  b.send(Msg(std::string("back")));
  EXPECT_EQ(a.recv(), Msg(std::string("back")));
}

TEST(Pipe, DefaultConnectionCarriesByteVectors) {
  auto [a, b] = mproc::Pipe();  // Connection<std::vector<std::byte>>
  static_assert(std::is_same_v<decltype(a), mproc::Connection<std::vector<std::byte>>>);
  a.send(pattern(300, 1));
  EXPECT_EQ(b.recv(), pattern(300, 1));
}

TEST(Pipe, MessagesArriveInOrderAndSeveralSmallOnesAreReadTogether) {
  auto [a, b] = mproc::Pipe<int>();
  for (int i = 0; i < 100; ++i) a.send(i);  // few: each small send takes ~1 KiB of socket buffer
  for (int i = 0; i < 100; ++i) ASSERT_EQ(b.recv(), i);
  EXPECT_FALSE(b.poll());
}

TEST(Pipe, MessagesOfEdgeSizesRoundTrip) {
  auto [a, b] = mproc::Pipe();
  // 0, 1, a frame of exactly one receive buffer, one byte more, and straddling sizes.
  const std::size_t sizes[] = {0,           1,           kBuffer - kHeader, kBuffer - kHeader + 1,
                               kBuffer,     kBuffer + 1, 2 * kBuffer,       3 * kBuffer - 7,
                               kHeader - 1, kHeader};
  std::uint32_t seed = 10;
  for (std::size_t n : sizes) {
    // One at a time (nothing else buffered) ...
    Bytes m = pattern(n, seed++);
    a.send_bytes(m);
    ASSERT_EQ(b.recv_bytes(), m) << "size " << n;
  }
  // ... and back to back from a thread, so frames start at many offsets of the receive buffer.
  std::vector<Bytes> sent;
  for (std::size_t n : sizes) {
    sent.push_back(pattern(n, seed++));
    sent.push_back(pattern(7, seed++));
  }
  std::thread sender([&a = a, &sent] {
    for (const Bytes& m : sent) a.send_bytes(m);
  });
  for (const Bytes& m : sent) EXPECT_EQ(b.recv_bytes(), m) << "size " << m.size();
  sender.join();
}

TEST(Pipe, TypedRecvOfMessagesLargerThanTheBufferWorks) {
  auto [a, b] = mproc::Pipe<std::string>();
  std::string big(3 * kBuffer + 5, 'x');
  big[kBuffer] = 'y';
  a.send(big);
  a.send("small");
  EXPECT_EQ(b.recv(), big);
  EXPECT_EQ(b.recv(), "small");
}

TEST(Pipe, RecvBytesIntoReusesTheCallersVector) {
  auto [a, b] = mproc::Pipe();
  Bytes out;
  a.send_bytes(pattern(1000, 3));
  EXPECT_EQ(b.recv_bytes_into(out), 1000u);
  EXPECT_EQ(out, pattern(1000, 3));
  a.send_bytes(pattern(10, 4));
  EXPECT_EQ(b.recv_bytes_into(out), 10u);
  EXPECT_EQ(out, pattern(10, 4));
  EXPECT_GE(out.capacity(), 1000u);
}

TEST(Pipe, SixtyFourMiBMessageStreamsThroughAConcurrentReaderThread) {
  auto [a, b] = mproc::Pipe();
  const Bytes big = pattern(64u << 20, 5);
  Bytes got;
  std::thread reader([&, &b = b] { got = b.recv_bytes(); });
  a.send_bytes(big);
  reader.join();
  EXPECT_TRUE(got == big);
}

TEST(Pipe, SixtyFourMiBMessagesCrossAForkInBothDirections) {
  mproc::test::ChildGuard guard;
  auto [a, b] = mproc::Pipe();
  int pid = fork_child(guard, [&, &a = a, &b = b] {
    a.close();
    Bytes m = b.recv_bytes();
    if (m != pattern(64u << 20, 6)) return 1;
    b.send_bytes(pattern(64u << 20, 7));
    return 0;
  });
  b.close();
  a.send_bytes(pattern(64u << 20, 6));
  EXPECT_TRUE(a.recv_bytes() == pattern(64u << 20, 7));
  int status = guard.reap(pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
}

TEST(Pipe, NonDuplexFirstEndOnlyReceivesAndSecondOnlySends) {
  auto [r, w] = mproc::Pipe<int>(false);
  EXPECT_TRUE(r.readable());
  EXPECT_FALSE(r.writable());
  EXPECT_FALSE(w.readable());
  EXPECT_TRUE(w.writable());
  EXPECT_THROW(r.send(1), mproc::Error);
  EXPECT_THROW(r.send_bytes(pattern(3, 1)), mproc::Error);
  EXPECT_THROW((void)w.recv(), mproc::Error);
  EXPECT_THROW((void)w.recv_bytes(), mproc::Error);
  EXPECT_THROW((void)w.poll(), mproc::Error);
  w.send(5);
  EXPECT_EQ(r.recv(), 5);
}

TEST(Pipe, OptionsStructSelectsDirectionAndMaximum) {
  auto [r, w] = mproc::Pipe<int>({.duplex = false, .max_message_size = 64});
  EXPECT_FALSE(r.writable());
  EXPECT_EQ(w.max_message_size(), 64u);
  auto [c, d] = mproc::Pipe();
  EXPECT_EQ(c.max_message_size(), std::size_t{1} << 30);
  EXPECT_TRUE(c.writable() && c.readable() && d.writable() && d.readable());
}

TEST(Pipe, SendOverTheMaximumThrowsBeforeWritingAndTheConnectionStaysUsable) {
  auto [a, b] = mproc::Pipe({.max_message_size = 1000});
  try {
    a.send_bytes(pattern(1001, 1));
    FAIL() << "no throw";
  } catch (const mproc::Error& e) {
    EXPECT_NE(std::string(e.what()).find("max_message_size"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(b.poll());          // not one byte was written
  a.send_bytes(pattern(1000, 2));  // exactly the maximum is fine
  EXPECT_EQ(b.recv_bytes(), pattern(1000, 2));

  auto [c, d] = mproc::Pipe<std::string>({.max_message_size = 1000});
  EXPECT_THROW(c.send(std::string(5000, 'z')), mproc::Error);
  c.send("still fine");
  EXPECT_EQ(d.recv(), "still fine");
}

TEST(Pipe, TypedRecvOfBytesThatAreNotATThrowsDecodeErrorAndTheConnectionStaysUsable) {
  auto [a, b] = mproc::Pipe<std::int32_t>();
  a.send_bytes(pattern(3, 1));
  EXPECT_THROW((void)b.recv(), mproc::DecodeError);
  a.send(77);
  EXPECT_EQ(b.recv(), 77);
}

TEST(Pipe, BadMagicThrowsDecodeErrorThenEveryRecvThrowsBrokenError) {
  auto [a, b] = mproc::Pipe();
  ASSERT_TRUE(raw_write(a.fileno(), forged_header(4, 0xdeadbeef)));
  EXPECT_THROW((void)b.recv_bytes(), mproc::DecodeError);
  a.send_bytes(pattern(4, 1));
  try {
    (void)b.recv_bytes();
    FAIL() << "no throw";
  } catch (const mproc::DecodeError& e) {
    FAIL() << "a broken connection should say so, not decode again: " << e.what();
  } catch (const mproc::Error& e) {
    EXPECT_NE(std::string(e.what()).find("broken"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(b.poll());  // recv() would not block: it throws at once
}

TEST(Pipe, TruncatedFrameThenCloseGivesEOFErrorThatSaysTruncated) {
  // A header announcing 100 bytes, 10 of them, then the writer closes (H1): within the buffer.
  for (std::size_t announced : {std::size_t{100}, 4 * kBuffer}) {
    auto [a, b] = mproc::Pipe();
    ASSERT_TRUE(raw_write(a.fileno(), forged_header(announced)));
    ASSERT_TRUE(raw_write(a.fileno(), pattern(10, 1)));
    a.close();
    try {
      (void)b.recv_bytes();
      FAIL() << "no throw";
    } catch (const mproc::EOFError& e) {
      EXPECT_NE(std::string(e.what()).find("truncated"), std::string::npos) << e.what();
    }
    EXPECT_THROW((void)b.recv_bytes(), mproc::EOFError);  // and it stays at end of stream
  }
}

TEST(Pipe, TruncatedHeaderThenCloseGivesEOFErrorThatSaysTruncated) {
  auto [a, b] = mproc::Pipe();
  auto h = forged_header(5);
  ASSERT_TRUE(raw_write(a.fileno(), std::span(h).first(5)));
  a.close();
  try {
    (void)b.recv_bytes();
    FAIL() << "no throw";
  } catch (const mproc::EOFError& e) {
    EXPECT_NE(std::string(e.what()).find("truncated"), std::string::npos) << e.what();
  }
}

TEST(Pipe, RecvAfterPeerClosedDeliversWhatWasSentThenEOFError) {
  auto [a, b] = mproc::Pipe<int>();
  a.send(1);
  a.send(2);
  a.close();
  EXPECT_TRUE(b.poll());
  EXPECT_EQ(b.recv(), 1);
  EXPECT_EQ(b.recv(), 2);
  EXPECT_THROW((void)b.recv(), mproc::EOFError);
  EXPECT_THROW((void)b.recv_bytes(), mproc::EOFError);
  EXPECT_TRUE(b.poll());  // EOF counts as ready
}

TEST(Pipe, DestroyingAnEndClosesIt) {
  auto [a, b] = mproc::Pipe<int>();
  { auto gone = std::move(a); }
  EXPECT_THROW((void)b.recv(), mproc::EOFError);
}

TEST(Pipe, RecvAfterPeerProcessIsSigkilledGivesEOFError) {
  mproc::test::ChildGuard guard;
  auto [a, b] = mproc::Pipe<int>();
  int pid = fork_child(guard, [&, &a = a, &b = b] {
    a.close();
    b.send(1);
    for (;;) ::pause();
    return 0;
  });
  b.close();
  EXPECT_EQ(a.recv(), 1);
  a.send(2);  // unread by the child when it dies: the kernel reports ECONNRESET, still EOF
  ASSERT_EQ(::kill(pid, SIGKILL), 0);
  int status = guard.reap(pid);
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
  EXPECT_THROW((void)a.recv(), mproc::EOFError);
}

TEST(Pipe, PeerProcessDyingInTheMiddleOfAMessageGivesTruncatedEOFError) {
  mproc::test::ChildGuard guard;
  auto [a, b] = mproc::Pipe();
  int pid = fork_child(guard, [&, &a = a, &b = b] {
    a.close();
    (void)raw_write(b.fileno(), forged_header(1 << 20));
    (void)raw_write(b.fileno(), pattern(1000, 1));
    ::raise(SIGKILL);
    return 0;
  });
  b.close();
  try {
    (void)a.recv_bytes();
    FAIL() << "no throw";
  } catch (const mproc::EOFError& e) {
    EXPECT_NE(std::string(e.what()).find("truncated"), std::string::npos) << e.what();
  }
  guard.reap(pid);
}

TEST(Pipe, SendToAClosedPeerThrowsSystemErrorEpipeAndRaisesNoSigpipe) {
  auto [a, b] = mproc::Pipe<int>();
  b.close();
  try {
    a.send(1);
    FAIL() << "no throw";
  } catch (const mproc::SystemError& e) {
    EXPECT_EQ(e.code(), std::error_code(EPIPE, std::system_category())) << e.what();
    EXPECT_EQ(e.call(), "sendmsg");
  }
  // A failed send may have written part of a frame: later sends refuse rather than corrupt.
  EXPECT_THROW(a.send(2), mproc::Error);
}

TEST(Pipe, PollTimesOutWithFalseAndReturnsTrueWhenAMessageIsThere) {
  auto [a, b] = mproc::Pipe<int>();
  EXPECT_FALSE(b.poll());
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_FALSE(b.poll(30ms));
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 30ms);
  EXPECT_FALSE(b.poll(-5ms));
  a.send(9);
  EXPECT_TRUE(b.poll());
  EXPECT_TRUE(b.poll(1s));
  EXPECT_TRUE(b.poll(std::nullopt));
  EXPECT_EQ(b.recv(), 9);
  EXPECT_FALSE(b.poll());
}

TEST(Pipe, PollForeverWakesWhenAnotherThreadSends) {
  auto [a, b] = mproc::Pipe<int>();
  std::thread sender([&a = a] { a.send(3); });
  EXPECT_TRUE(b.poll(std::nullopt));
  sender.join();
  EXPECT_EQ(b.recv(), 3);
}

TEST(Pipe, SignalsDoNotShortenPollOrBreakRecv) {
  InterruptingSignal handler;
  auto [a, b] = mproc::Pipe<int>();
  const pthread_t main_thread = ::pthread_self();
  std::atomic<bool> stop{false};
  std::thread storm([&] {
    while (!stop.load()) {
      ::pthread_kill(main_thread, SIGUSR1);
      std::this_thread::sleep_for(200us);  // pacing only, not synchronisation
    }
  });
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_FALSE(b.poll(100ms));
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 100ms);
  std::thread sender([&a = a] {
    std::this_thread::sleep_for(50ms);  // let recv block under the storm first
    a.send(11);
  });
  EXPECT_EQ(b.recv(), 11);
  sender.join();
  stop = true;
  storm.join();
}

TEST(Pipe, CloseIsIdempotentAndLaterCallsThrowError) {
  auto [a, b] = mproc::Pipe<int>();
  EXPECT_FALSE(a.closed());
  a.close();
  a.close();
  EXPECT_TRUE(a.closed());
  EXPECT_THROW(a.send(1), mproc::Error);
  EXPECT_THROW((void)a.recv(), mproc::Error);
  EXPECT_THROW((void)a.recv_bytes(), mproc::Error);
  EXPECT_THROW((void)a.poll(), mproc::Error);
  EXPECT_THROW((void)a.fileno(), mproc::Error);
  try {
    (void)a.recv();
  } catch (const mproc::EOFError&) {
    FAIL() << "recv on our own closed end is a usage error, not EOF";
  } catch (const mproc::Error&) {
  }
}

TEST(Pipe, MovedFromConnectionIsClosedAndTheTargetWorks) {
  auto [a, b] = mproc::Pipe<int>();
  mproc::Connection<int> c = std::move(a);
  EXPECT_TRUE(a.closed());  // NOLINT(bugprone-use-after-move)
  c.send(4);
  EXPECT_EQ(b.recv(), 4);
  mproc::Connection<int> d;
  EXPECT_TRUE(d.closed());
  d = std::move(c);
  d.send(5);
  EXPECT_EQ(b.recv(), 5);
}

TEST(Pipe, BothFdsAreCloseOnExec) {
  auto [a, b] = mproc::Pipe();
  EXPECT_TRUE(::fcntl(a.fileno(), F_GETFD) & FD_CLOEXEC);
  EXPECT_TRUE(::fcntl(b.fileno(), F_GETFD) & FD_CLOEXEC);
}

TEST(Pipe, BothEndsWorkInAForkedChild) {
  mproc::test::ChildGuard guard;
  auto [a, b] = mproc::Pipe<int>();
  auto [c, d] = mproc::Pipe<std::string>();
  int pid = fork_child(guard, [&, &a = a, &b = b, &c = c, &d = d] {
    d.close();
    a.send(-1);  // the parent's end works here too: a loop back to ourselves ...
    if (b.recv() != -1) return 1;
    a.close();  // (closed, or b would never see EOF)
    c.send("ready");
    for (;;) {  // ... and the child's end: an echo server doubling ints until EOF
      int v;
      try {
        v = b.recv();
      } catch (const mproc::EOFError&) {
        break;
      }
      b.send(2 * v);
    }
    c.send("done");
    return 0;
  });
  b.close();  // only the child reads b, so its loop-back message cannot be taken here
  c.close();
  EXPECT_EQ(d.recv(), "ready");
  for (int i = 0; i < 100; ++i) {
    a.send(i);
    ASSERT_EQ(a.recv(), 2 * i);
  }
  a.close();  // the last copy of a: the child's b.recv() sees EOF
  EXPECT_EQ(d.recv(), "done");
  int status = guard.reap(pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
}

TEST(Pipe, ManyRandomSizedMessagesFromAThreadArriveIntact) {
  auto [a, b] = mproc::Pipe();
  constexpr int kCount = 2000;
  auto size_of = [](int i) {
    return static_cast<std::size_t>((i * 7919) % (3 * kBuffer)) / (i % 5 + 1);
  };
  std::thread sender([&a = a, &size_of] {
    for (int i = 0; i < kCount; ++i)
      a.send_bytes(pattern(size_of(i), static_cast<std::uint32_t>(i)));
  });
  Bytes got;
  int bad = 0;
  for (int i = 0; i < kCount; ++i) {
    b.recv_bytes_into(got);
    bad += got != pattern(size_of(i), static_cast<std::uint32_t>(i));
  }
  sender.join();
  EXPECT_EQ(bad, 0);
}

}  // namespace
