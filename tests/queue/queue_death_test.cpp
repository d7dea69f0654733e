// Producers and consumers SIGKILLed at any instant — holding the queue's lock, half-way through
// an item, in the middle of a commit — never wedge the others, and lose nothing but the killed
// process's own unfinished put (or, for a consumer, the item it was taking).
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <cstring>
#include <chrono>
#include <cstdint>
#include <random>
#include <thread>
#include <utility>
#include <vector>

#include "mproc/process.hpp"
#include "mproc/queue.hpp"
#include "mproc/shared_memory.hpp"
#include "queue/queue_layout.hpp"
#include "queue/queue_test_util.hpp"

namespace {

using mproc::EOFError;
using mproc::Process;
using mproc::ProcessOptions;
using mproc::Queue;
using mproc::QueueOptions;
using mproc::test::pattern;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
constexpr int kSlow = 4;  // sanitizer builds run the same loops with fewer items
#else
constexpr int kSlow = 1;
#endif

// Item n: its number and a payload derived from it. Every 50th is larger than half the 64 KiB
// ring, so it streams in chunks and kills land mid-item too.
using Item = std::pair<std::uint32_t, std::vector<std::uint8_t>>;
constexpr std::size_t kRing = 64 << 10;
Item make_item(std::uint32_t n) {
  const std::size_t size = n % 50 == 7 ? 40'000 + n % 1000 : n % 23;
  return {n, pattern(size, n)};
}

ProcessOptions daemon_opts() { return ProcessOptions{.daemon = true}; }

// What consumers record: how often each number arrived, and whether any payload was wrong.
struct Ledger {
  explicit Ledger(std::size_t n)
      : counts(mproc::SharedMemory::create(n)), flags(mproc::SharedMemory::create(4096)) {}
  [[nodiscard]] std::atomic<std::uint8_t>* count() const {
    return reinterpret_cast<std::atomic<std::uint8_t>*>(counts.data());
  }
  [[nodiscard]] std::atomic<std::uint32_t>* word(int i) const {
    return reinterpret_cast<std::atomic<std::uint32_t>*>(flags.data()) + i;
  }
  void record(const Item& item) const {
    if (item.second != make_item(item.first).second) word(0)->store(1);  // torn or mixed item
    count()[item.first].fetch_add(1);
  }
  [[nodiscard]] bool bad_payload() const { return word(0)->load() != 0; }
  mproc::SharedMemory counts, flags;
};

// A consumer process: records every item until the queue is closed and drained.
Process start_consumer(Queue<Item> q, const Ledger& ledger) {
  Process p(daemon_opts(), [q, ledger]() mutable {
    try {
      for (;;) ledger.record(q.get());
    } catch (const EOFError&) {
    }
  });
  p.start();
  return p;
}

// The loop: 100,000 numbered items through 2 producer lanes whose processes are
// SIGKILLed at random instants and restarted, into 2 consumers that are never killed. Every
// item whose put returned arrives exactly once; the one item a killed producer was putting
// (or had put but not yet acknowledged) arrives at most once.
TEST(QueueDeath, KilledProducersLoseOnlyTheirUnfinishedPut) {
  const std::uint32_t kItems = 100'000 / kSlow;
  constexpr int kLanes = 2;
  Queue<Item> q(QueueOptions{.capacity_bytes = kRing});
  Ledger ledger(kItems);
  auto acked = [&](int lane) { return ledger.word(1 + lane); };  // lane's next unacknowledged
  std::vector<std::uint8_t> uncertain(kItems, 0);

  std::vector<Process> consumers;
  for (int c = 0; c < 2; ++c) consumers.push_back(start_consumer(q, ledger));

  std::mt19937 rng(12345);
  std::uniform_int_distribution<int> life_us(0, 3000);
  int kills = 0;
  for (int lane = 0; lane < kLanes; ++lane) acked(lane)->store(lane);
  // Lane k puts the numbers congruent to k mod kLanes, in order.
  std::vector<bool> finished(kLanes, false);
  while (!(finished[0] && finished[1])) {
    std::vector<Process> producers;
    for (int lane = 0; lane < kLanes; ++lane) {
      if (finished[lane]) continue;
      const std::uint32_t from = acked(lane)->load();
      producers.emplace_back(daemon_opts(), [q, ledger, lane, from, kItems]() mutable {
        for (std::uint32_t n = from; n < kItems; n += kLanes) {
          q.put(make_item(n));
          reinterpret_cast<std::atomic<std::uint32_t>*>(ledger.flags.data())[1 + lane].store(
              n + kLanes);
        }
      });
      producers.back().start();
    }
    // Fault injection, not synchronisation: let them run a random while, then kill them.
    std::this_thread::sleep_for(std::chrono::microseconds(life_us(rng)));
    int i = 0;
    for (int lane = 0; lane < kLanes; ++lane) {
      if (finished[lane]) continue;
      Process& p = producers[static_cast<std::size_t>(i++)];
      p.kill();
      p.join();
      const std::uint32_t next = acked(lane)->load();
      if (p.exitcode() == 0) {
        finished[lane] = true;
        continue;
      }
      ASSERT_EQ(p.exitcode(), -SIGKILL);
      ++kills;
      if (next >= kItems) {
        finished[lane] = true;
        continue;
      }
      // The item it was putting (or had put without acknowledging it): at most once.
      uncertain[next] = 1;
      acked(lane)->store(next + kLanes);
      if (next + kLanes >= kItems) finished[lane] = true;
    }
  }
  q.close();
  for (auto& c : consumers) {
    ASSERT_TRUE(c.join(120s)) << "a consumer is wedged";
    ASSERT_EQ(c.exitcode(), 0);
  }
  EXPECT_FALSE(ledger.bad_payload());
  std::uint32_t lost = 0;
  for (std::uint32_t n = 0; n < kItems; ++n) {
    const int count = ledger.count()[n].load();
    if (uncertain[n]) {
      ASSERT_LE(count, 1) << "item " << n;
      lost += count == 0;
    } else {
      ASSERT_EQ(count, 1) << "item " << n;
    }
  }
  EXPECT_GE(kills, 20);  // the loop really killed producers
  EXPECT_TRUE(q.empty());
  RecordProperty("kills", kills);
  RecordProperty("unfinished_puts_lost", static_cast<int>(lost));
}

// Consumers killed at random instants: no item arrives twice, each kill loses at most the one
// item the victim was taking, and the surviving consumer is never wedged.
TEST(QueueDeath, KilledConsumersNeverWedgeTheOthersNorDuplicateItems) {
  const std::uint32_t kItems = 20'000 / kSlow;
  Queue<Item> q(QueueOptions{.maxsize = 200, .capacity_bytes = kRing});
  Ledger ledger(kItems);
  Process producer(daemon_opts(), [q, kItems]() mutable {
    for (std::uint32_t n = 0; n < kItems; ++n) q.put(make_item(n));
  });
  producer.start();
  Process survivor = start_consumer(q, ledger);

  std::mt19937 rng(999);
  std::uniform_int_distribution<int> life_us(0, 2000);
  int kills = 0;
  while (producer.is_alive() || !q.empty()) {
    Process victim = start_consumer(q, ledger);
    std::this_thread::sleep_for(std::chrono::microseconds(life_us(rng)));  // fault injection
    victim.kill();
    victim.join();
    kills += victim.exitcode() == -SIGKILL;
  }
  ASSERT_TRUE(producer.join(60s));
  ASSERT_EQ(producer.exitcode(), 0);
  q.close();
  ASSERT_TRUE(survivor.join(60s)) << "the surviving consumer is wedged";
  ASSERT_EQ(survivor.exitcode(), 0);
  EXPECT_FALSE(ledger.bad_payload());
  int missing = 0;
  for (std::uint32_t n = 0; n < kItems; ++n) {
    const int count = ledger.count()[n].load();
    ASSERT_LE(count, 1) << "item " << n << " arrived twice";
    missing += count == 0;
  }
  EXPECT_LE(missing, kills);
  EXPECT_GE(kills, 5);
  RecordProperty("kills", kills);
  RecordProperty("missing", missing);
}

// Waits (polling; a condition, not a sleep) until pred() or 30 s.
template <class Pred>
bool eventually(Pred pred) {
  const auto end = Clock::now() + 30s;
  while (Clock::now() < end) {
    if (pred()) return true;
    std::this_thread::yield();
  }
  return pred();
}

// A writer killed half-way through streaming an item, with no other writer to come: the reader
// inside that item notices the death by itself, drops the part it read, and the queue works on.
TEST(QueueDeath, AReaderInsideAStreamedItemNoticesItsWriterDied) {
  Queue<std::vector<std::uint8_t>> q(QueueOptions{.capacity_bytes = kRing});
  Process writer(daemon_opts(), [q]() mutable { q.put(pattern(1 << 20, 1)); });
  writer.start();
  // The ring fills (no one reads) and the writer blocks mid-item, holding the write lock.
  ASSERT_TRUE(eventually([&] { return q.bytes_queued() >= kRing / 2; }));
  writer.kill();
  writer.join();
  const auto t0 = Clock::now();
  EXPECT_EQ(q.get(200ms), std::nullopt);  // reads the dead item's chunks, drops them
  EXPECT_LT(Clock::now() - t0, 10s);
  EXPECT_EQ(q.bytes_queued(), 0u);
  q.put(pattern(5, 2));  // the write lock came back from the dead writer
  EXPECT_EQ(q.get(1s), pattern(5, 2));
}

// A consumer killed inside a streamed item (holding the read lock): the next consumer discards
// the rest of that item and gets the following one.
TEST(QueueDeath, AConsumerKilledInsideAStreamedItemLosesOnlyThatItem) {
  Queue<std::vector<std::uint8_t>> q(QueueOptions{.capacity_bytes = kRing});
  Process writer(daemon_opts(), [q]() mutable {
    q.put(pattern(1 << 20, 1));
    q.put(pattern(77, 2));
  });
  writer.start();
  ASSERT_TRUE(eventually([&] { return q.bytes_queued() >= kRing / 2; }));
  ::kill(writer.pid(), SIGSTOP);  // the rest of the item waits
  Process victim(daemon_opts(), [q]() mutable { (void)q.get(); });
  victim.start();
  // The victim drains what was published and waits inside the item, holding the read lock.
  ASSERT_TRUE(eventually([&] { return q.bytes_queued() == 0; }));
  victim.kill();
  victim.join();
  ASSERT_EQ(victim.exitcode(), -SIGKILL);
  ::kill(writer.pid(), SIGCONT);
  EXPECT_EQ(q.get(30s), pattern(77, 2));
  ASSERT_TRUE(writer.join(30s));
  EXPECT_EQ(writer.exitcode(), 0);
  EXPECT_TRUE(q.empty());
}

// A consumer killed while it holds a small item (the read lock held, the item not yet released):
// the item is delivered again to the next consumer. Made deterministic with a T whose decoding
// stops the consumer's process (only in the process that asked for it).
bool g_stall_in_decode = false;

struct Stall {
  int v = 0;
  template <class Ar>
  void save(Ar& ar) const {
    ar(v);
  }
  template <class Ar>
  void load(Ar& ar) {
    ar(v);
    if (g_stall_in_decode) ::raise(SIGSTOP);  // decoding in place, under the read lock
  }
};

TEST(QueueDeath, AnItemWhoseConsumerDiedTakingItIsDeliveredAgain) {
  Queue<Stall> q;
  q.put(Stall{1});
  q.put(Stall{2});
  Process victim(daemon_opts(), [q]() mutable {
    g_stall_in_decode = true;
    (void)q.get();
  });
  victim.start();
  ASSERT_TRUE(eventually([&] { return mproc::test::process_state(victim.pid()) == 'T'; }));
  victim.kill();
  victim.join();
  ASSERT_EQ(victim.exitcode(), -SIGKILL);
  EXPECT_EQ(q.size(), 2u);
  EXPECT_EQ(q.get(10s)->v, 1);  // the read lock came back, and the item with it
  EXPECT_EQ(q.get(10s)->v, 2);
  EXPECT_TRUE(q.empty());
}

// A queue whose shared control block the test can touch, to play a process that died at a chosen
// instant: after its commit, before its wake-up call.
class RawQueue : public Queue<int> {
 public:
  using Queue<int>::Queue;
  [[nodiscard]] mproc::queue::QueueControl& control() const {
    return *static_cast<mproc::queue::QueueControl*>(core().test_view().control);
  }
  [[nodiscard]] std::byte* ring() const { return core().test_view().ring; }
};

TEST(QueueDeath, AWriterWaitingForASlotIsNotStrandedByAConsumerThatDiedBeforeWakingIt) {
  RawQueue q(1);
  q.put(1);
  Process producer(daemon_opts(), [q]() mutable { q.put(2); });
  producer.start();
  auto& c = q.control();
  ASSERT_TRUE(eventually([&] { return c.writer_sleeping.load() != 0; }));
  // A consumer takes item 1 and dies before its wake-up call: commit only.
  c.r.pos.store(c.w.pos.load());
  c.r.items.store(c.w.items.load());
  EXPECT_TRUE(producer.join(10s)) << "the producer sleeps on, waiting for a slot that is free";
  EXPECT_EQ(q.get(1s), 2);
}

TEST(QueueDeath, AReaderWaitingForDataIsNotStrandedByAProducerThatDiedBeforeWakingIt) {
  RawQueue q;
  Process consumer(daemon_opts(), [q]() mutable { std::_Exit(q.get() == 5 ? 0 : 3); });
  consumer.start();
  auto& c = q.control();
  ASSERT_TRUE(eventually([&] { return c.reader_sleeping.load() != 0; }));
  // A producer publishes item 5 and dies before its wake-up call.
  const auto bytes = mproc::encode(5);
  const mproc::queue::RecordHeader h{static_cast<std::uint32_t>(bytes.size()), mproc::queue::kWhole};
  std::memcpy(q.ring(), &h, sizeof h);
  std::memcpy(q.ring() + sizeof h, bytes.data(), bytes.size());
  c.w.pos.store(mproc::queue::padded(bytes.size()));
  c.w.items.store(1);
  ASSERT_TRUE(consumer.join(10s)) << "the consumer sleeps on beside a published item";
  EXPECT_EQ(consumer.exitcode(), 0);
}

}  // namespace
