// Queue, SimpleQueue, JoinableQueue: FIFO order, bounds, timeouts, close/EOF, items larger than
// the ring, many processes, and the item that put() returned for surviving its process's exit.
// Killed producers and consumers: queue_death_test.cpp.
#include "mproc/queue.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <numeric>
#include <string>
#include <thread>
#include <vector>

#include "mproc/pool.hpp"
#include "mproc/process.hpp"
#include "mproc/shared_memory.hpp"
#include "queue/queue_test_util.hpp"

namespace {

using mproc::EOFError;
using mproc::JoinableQueue;
using mproc::Process;
using mproc::ProcessOptions;
using mproc::Queue;
using mproc::QueueOptions;
using mproc::SimpleQueue;
using mproc::test::pattern;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

ProcessOptions daemon_opts() { return ProcessOptions{.daemon = true}; }

TEST(Queue, ItemsComeOutInTheOrderTheyWentIn) {
  Queue<std::string> q;
  EXPECT_TRUE(q.empty());
  for (int i = 0; i < 1000; ++i) q.put("item " + std::to_string(i));
  EXPECT_EQ(q.size(), 1000u);
  for (int i = 0; i < 1000; ++i) EXPECT_EQ(q.get(), "item " + std::to_string(i));
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(q.size(), 0u);
}

TEST(Queue, CopiesAreTheSameQueue) {
  Queue<int> a;
  Queue<int> b = a;
  a.put(7);
  EXPECT_EQ(b.size(), 1u);
  EXPECT_EQ(b.get(), 7);
  EXPECT_TRUE(a.empty());
}

TEST(Queue, ManyItemsWrapTheRingManyTimes) {
  Queue<std::vector<int>> q(QueueOptions{.capacity_bytes = 64 << 10});
  EXPECT_EQ(q.capacity_bytes(), 64u << 10);
  // Sizes that do not divide the ring: records straddle its end and need pads.
  for (int round = 0; round <= 2000; ++round) {  // 2001: whole groups of 3
    std::vector<int> v(static_cast<std::size_t>(round % 97 + 1), round);
    q.put(v);
    if (round % 3 == 2) {
      for (int k = round - 2; k <= round; ++k) {
        const auto got = q.get();
        ASSERT_EQ(got.size(), static_cast<std::size_t>(k % 97 + 1));
        ASSERT_EQ(got.front(), k);
      }
    }
  }
  EXPECT_TRUE(q.empty());
}

TEST(Queue, MaxsizeBoundsTheItemCount) {
  Queue<int> q(2);
  EXPECT_EQ(q.maxsize(), 2u);
  q.put(1);
  EXPECT_FALSE(q.full());
  EXPECT_TRUE(q.try_put(2));
  EXPECT_TRUE(q.full());
  EXPECT_FALSE(q.try_put(3));
  const auto t0 = Clock::now();
  EXPECT_FALSE(q.put(3, 30ms));
  EXPECT_GE(Clock::now() - t0, 30ms);
  EXPECT_EQ(q.get(), 1);
  EXPECT_TRUE(q.put(3, 0ms));
  EXPECT_EQ(q.get(), 2);
  EXPECT_EQ(q.get(), 3);
  EXPECT_EQ(q.try_get(), std::nullopt);
}

TEST(Queue, AFullBoundedQueueLetsAPutThroughWhenAConsumerGets) {
  Queue<int> q(1);
  q.put(1);
  Process consumer(daemon_opts(), [q]() mutable {
    if (q.get() != 1) std::_Exit(2);
  });
  consumer.start();
  EXPECT_TRUE(q.put(2, 10s));  // waits until the child took item 1
  consumer.join();
  EXPECT_EQ(consumer.exitcode(), 0);
  EXPECT_EQ(q.get(), 2);
}

TEST(Queue, GetTimesOutOnAnEmptyQueue) {
  Queue<int> q;
  EXPECT_EQ(q.try_get(), std::nullopt);
  const auto t0 = Clock::now();
  EXPECT_EQ(q.get(20ms), std::nullopt);
  EXPECT_GE(Clock::now() - t0, 20ms);
  q.put(5);
  EXPECT_EQ(q.get(0ms), 5);
}

TEST(Queue, AGetWaitingInTheParentReceivesAChildsPut) {
  Queue<std::string> q;
  Process child(daemon_opts(), [q]() mutable { q.put("from the child"); });
  child.start();
  EXPECT_EQ(q.get(10s), "from the child");
  child.join();
}

TEST(Queue, CloseRefusesPutsDrainsThenGivesEOF) {
  Queue<int> q;
  q.put(1);
  q.put(2);
  q.close();
  EXPECT_TRUE(q.closed());
  EXPECT_THROW(q.put(3), mproc::Error);
  EXPECT_EQ(q.get(), 1);
  EXPECT_EQ(q.try_get(), 2);
  EXPECT_THROW((void)q.get(), EOFError);
  EXPECT_THROW((void)q.get(1s), EOFError);
  EXPECT_THROW((void)q.try_get(), EOFError);
  q.close();  // idempotent
}

TEST(Queue, CloseWakesAGetterInAnotherProcess) {
  Queue<int> q;
  mproc::test::Flag waiting;
  Process child(daemon_opts(), [q, waiting]() mutable {
    waiting.set();
    try {
      (void)q.get();
    } catch (const EOFError&) {
      std::_Exit(0);
    }
    std::_Exit(3);
  });
  child.start();
  waiting.wait();
  q.close();
  ASSERT_TRUE(child.join(10s));
  EXPECT_EQ(child.exitcode(), 0);
}

TEST(Queue, CloseWakesAPutWaitingForRoom) {
  Queue<int> q(1);
  q.put(0);
  std::atomic<bool> threw{false};
  std::thread t([&] {
    try {
      q.put(1);
    } catch (const mproc::Error&) {
      threw = true;
    }
  });
  // The put may be waiting already or not yet started: either way it must end with the error.
  q.close();
  t.join();
  EXPECT_TRUE(threw);
  EXPECT_EQ(q.get(), 0);
  EXPECT_THROW((void)q.get(), EOFError);
}

TEST(Queue, AnItemLargerThanTheRingStreamsThroughIt) {
  Queue<std::vector<std::uint8_t>> q(QueueOptions{.capacity_bytes = 64 << 10});
  const auto big = pattern(1 << 20, 1);  // 16 times the ring
  Process producer(daemon_opts(), [q, big]() mutable {
    q.put(big);
    q.put(pattern(100, 2));
    q.put(pattern(200'000, 3));
  });
  producer.start();
  EXPECT_EQ(q.get(), big);
  EXPECT_EQ(q.get(), pattern(100, 2));
  EXPECT_EQ(q.get(), pattern(200'000, 3));
  producer.join();
  EXPECT_EQ(producer.exitcode(), 0);
}

TEST(Queue, APutThatTimesOutMidStreamIsWithdrawn) {
  Queue<std::vector<std::uint8_t>> q(QueueOptions{.capacity_bytes = 64 << 10});
  // No consumer: the ring fills and the streamed put gives up.
  EXPECT_FALSE(q.put(pattern(1 << 20, 4), 30ms));
  EXPECT_EQ(q.size(), 0u);
  // The withdrawn item's first part fills the ring: a consumer reads and drops it, then gets the
  // next item.
  std::optional<std::vector<std::uint8_t>> got;
  std::thread consumer([&] { got = q.get(10s); });
  q.put(pattern(10, 5));
  consumer.join();
  EXPECT_EQ(got, pattern(10, 5));
  EXPECT_EQ(q.try_get(), std::nullopt);
}

TEST(Queue, ARefusedTooLargeItemLeavesTheQueueAsItWas) {
  Queue<std::string> q(QueueOptions{.max_message_size = 1000});
  EXPECT_THROW(q.put(std::string(2000, 'x')), mproc::Error);
  q.put("ok");
  EXPECT_EQ(q.get(), "ok");
}

TEST(Queue, BadOptionsAreRefused) {
  EXPECT_THROW(Queue<int>(QueueOptions{.max_message_size = 0}), mproc::Error);
  EXPECT_THROW(Queue<int>(QueueOptions{.capacity_bytes = std::size_t{1} << 50}), mproc::Error);
  // Tiny rings are rounded up to the minimum.
  EXPECT_EQ(Queue<int>(QueueOptions{.capacity_bytes = 1}).capacity_bytes(), 64u << 10);
}

TEST(Queue, AnItemPutJustBeforeItsProcessExitsIsNotLost) {
  // Python's feeder thread may not have flushed when the process exits; here put() is the write.
  Queue<int> q;
  Process child(daemon_opts(), [q]() mutable {
    for (int i = 0; i < 1000; ++i) q.put(i);
    std::_Exit(0);  // no destructors, no flush: nothing to flush
  });
  child.start();
  child.join();
  ASSERT_EQ(child.exitcode(), 0);
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(q.get(0ms), i);
}

// Regression: a producer forked long ago keeps an old view of the consumers' position; after
// the ring had wrapped, that stale view once made it see room that was not there and overwrite
// unread items.
TEST(Queue, AProducerWithAStaleViewOfTheRingNeverOverwritesUnreadItems) {
  Queue<std::vector<std::uint8_t>> q(QueueOptions{.capacity_bytes = 64 << 10});
  mproc::test::Flag go;
  Process late(daemon_opts(), [q, go]() mutable {
    go.wait();
    // Fill the ring until it is full; every put that returned must be intact.
    for (std::uint32_t i = 0; i < 200 && q.try_put(pattern(1000, i)); ++i) {  // 65 fit
    }
  });
  late.start();
  for (std::uint32_t i = 0; i < 1000; ++i) {  // ~1 MB through the 64 KiB ring
    q.put(pattern(1000, 5000 + i));
    ASSERT_EQ(q.get(), pattern(1000, 5000 + i));
  }
  go.set();
  late.join();
  ASSERT_EQ(late.exitcode(), 0);
  EXPECT_LE(q.bytes_queued(), q.capacity_bytes());
  const std::size_t n = q.size();
  EXPECT_GT(n, 40u);
  for (std::uint32_t i = 0; i < n; ++i) ASSERT_EQ(q.get(), pattern(1000, i)) << "item " << i;
}

// Producers and consumers, all processes; each item is a number, and every number arrives once.
TEST(Queue, ManyProducersAndConsumersTransferEveryItemExactlyOnce) {
  constexpr int kProducers = 3, kConsumers = 3, kPerProducer = 20'000;
  constexpr int kTotal = kProducers * kPerProducer;
  Queue<std::uint32_t> q(QueueOptions{.maxsize = 500, .capacity_bytes = 64 << 10});
  auto seen = mproc::SharedMemory::create(kTotal);  // one counter byte per item
  std::vector<Process> procs;
  for (int p = 0; p < kProducers; ++p) {
    procs.emplace_back(daemon_opts(), [q, p]() mutable {
      for (int i = 0; i < kPerProducer; ++i) q.put(static_cast<std::uint32_t>(p * kPerProducer + i));
    });
  }
  for (int c = 0; c < kConsumers; ++c) {
    procs.emplace_back(daemon_opts(), [q, seen]() mutable {
      auto* counts = reinterpret_cast<std::atomic<std::uint8_t>*>(seen.data());
      try {
        for (;;) counts[q.get()].fetch_add(1);
      } catch (const EOFError&) {
      }
    });
  }
  for (auto& p : procs) p.start();
  for (int p = 0; p < kProducers; ++p) {
    ASSERT_TRUE(procs[p].join(60s));
    ASSERT_EQ(procs[p].exitcode(), 0);
  }
  q.close();  // the consumers drain, then get EOFError
  for (int c = kProducers; c < kProducers + kConsumers; ++c) {
    ASSERT_TRUE(procs[c].join(60s));
    ASSERT_EQ(procs[c].exitcode(), 0);
  }
  const auto* counts = reinterpret_cast<const std::uint8_t*>(seen.data());
  for (int i = 0; i < kTotal; ++i) ASSERT_EQ(counts[i], 1) << "item " << i;
  EXPECT_TRUE(q.empty());
}

TEST(Queue, ThreadsOfOneProcessShareTheQueue) {
  constexpr int kThreads = 4, kPer = 5'000;
  Queue<int> q(QueueOptions{.maxsize = 64});
  std::vector<std::thread> producers, consumers;
  std::atomic<long> sum{0};
  std::atomic<int> count{0};
  for (int t = 0; t < kThreads; ++t) {
    producers.emplace_back([&, t] {
      for (int i = 0; i < kPer; ++i) q.put(t * kPer + i);
    });
    consumers.emplace_back([&] {
      while (count.fetch_add(1) < kThreads * kPer) sum += q.get();
    });
  }
  for (auto& t : producers) t.join();
  for (auto& t : consumers) t.join();
  const long n = kThreads * kPer;
  EXPECT_EQ(sum.load(), n * (n - 1) / 2);
  EXPECT_TRUE(q.empty());
}

// A value whose load() refuses some bytes, as a corrupt item would be refused.
struct Picky {
  int v = 0;
  template <class Ar>
  void save(Ar& ar) const {
    ar(v);
  }
  template <class Ar>
  void load(Ar& ar) {
    ar(v);
    if (v < 0) throw mproc::DecodeError("Picky: negative");
  }
};

TEST(Queue, AnItemThatFailsToDecodeIsConsumedAndTheQueueGoesOn) {
  Queue<Picky> q;
  q.put(Picky{-1});
  q.put(Picky{2});
  EXPECT_THROW((void)q.get(), mproc::DecodeError);
  EXPECT_EQ(q.size(), 1u);
  EXPECT_EQ(q.get().v, 2);
}

// Python's idiom: Pool(initializer=init, initargs=(q,)) where init keeps q in a global.
std::optional<Queue<int>> g_results;  // set in each pool worker by the initializer

TEST(Queue, PoolWorkersGetAQueueThroughTheInitializer) {
  Queue<int> results;
  mproc::Pool pool(mproc::PoolOptions{.processes = 2, .initializer = [results] {
                                        g_results = results;
                                      }});
  std::vector<int> in(200);
  std::iota(in.begin(), in.end(), 0);
  const auto echoed = pool.map(
      [](int x) {
        g_results->put(x * x);
        return x;
      },
      in);
  EXPECT_EQ(echoed, in);
  std::vector<int> squares;
  for (int i = 0; i < 200; ++i) squares.push_back(*results.get(10s));
  std::sort(squares.begin(), squares.end());
  for (int i = 0; i < 200; ++i) ASSERT_EQ(squares[static_cast<std::size_t>(i)], i * i);
  EXPECT_TRUE(results.empty());
  EXPECT_FALSE(g_results.has_value());  // only the workers set it
}

void pass_along(Queue<std::string> in, JoinableQueue<std::string> out) {
  for (std::string s = in.get(); s != "STOP"; s = in.get()) out.put(s + "!");
}

TEST(Queue, QueuesAreProcessArguments) {
  Queue<std::string> in;
  JoinableQueue<std::string> out;
  Process p(daemon_opts(), pass_along, in, out);
  p.start();
  in.put("a");
  in.put("b");
  in.put("STOP");
  EXPECT_EQ(out.get(10s), "a!");
  EXPECT_EQ(out.get(10s), "b!");
  out.task_done();
  out.task_done();
  EXPECT_TRUE(out.join(0ms));
  p.join();
  EXPECT_EQ(p.exitcode(), 0);
}

TEST(SimpleQueue, PutGetEmptyClose) {
  SimpleQueue<std::string> q;
  EXPECT_TRUE(q.empty());
  q.put("a");
  EXPECT_FALSE(q.empty());
  EXPECT_EQ(q.maxsize(), 0u);
  EXPECT_EQ(q.get(), "a");
  q.close();
  EXPECT_THROW((void)q.get(), EOFError);
}

TEST(JoinableQueue, JoinWaitsForATaskDoneForEveryItem) {
  JoinableQueue<int> q;
  for (int i = 0; i < 100; ++i) q.put(i);
  EXPECT_FALSE(q.join(10ms));
  Process worker(daemon_opts(), [q]() mutable {
    for (int i = 0; i < 100; ++i) {
      if (q.get() != i) std::_Exit(2);
      q.task_done();
    }
  });
  worker.start();
  q.join();  // returns once the child answered every item
  EXPECT_TRUE(q.join(0ms));
  worker.join();
  EXPECT_EQ(worker.exitcode(), 0);
}

TEST(JoinableQueue, TaskDoneMoreTimesThanPutIsAnError) {
  JoinableQueue<int> q;
  EXPECT_THROW(q.task_done(), mproc::Error);
  q.put(1);
  (void)q.get();
  q.task_done();
  EXPECT_THROW(q.task_done(), mproc::Error);
  EXPECT_TRUE(q.join(0ms));
}

}  // namespace
