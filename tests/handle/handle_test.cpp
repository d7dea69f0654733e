// export_handle / import_handle within one process (mproc/detail/handle.hpp): an import is the
// same object as its export, and every description or fd that does not fit is refused with an
// Error naming the problem (RELIABILITY.md I3), without leaking the fds passed in.
#include "mproc/detail/handle.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <string>
#include <utility>
#include <vector>

#include "mproc/error.hpp"
#include "sys/unique_fd.hpp"

namespace {

namespace detail = mproc::detail;
using detail::UniqueFd;
using namespace std::chrono_literals;

static_assert(detail::handle<mproc::Lock>);
static_assert(detail::handle<mproc::RLock>);
static_assert(detail::handle<mproc::Event>);
static_assert(detail::handle<mproc::Semaphore>);
static_assert(detail::handle<mproc::BoundedSemaphore>);
static_assert(detail::handle<mproc::Condition>);
static_assert(detail::handle<mproc::Barrier>);
static_assert(detail::handle<mproc::SharedMemory>);
static_assert(detail::handle<mproc::Queue<int>>);
static_assert(detail::handle<mproc::SimpleQueue<std::string>>);
static_assert(detail::handle<mproc::JoinableQueue<int>>);
static_assert(detail::handle<mproc::Value<double>>);
static_assert(detail::handle<mproc::Array<int>>);
static_assert(detail::handle<mproc::Connection<int>>);
static_assert(!detail::handle<int>);
static_assert(!detail::handle<std::string>);

// Our own copies of the exported (borrowed) fds, as a receiver of SCM_RIGHTS would hold them.
std::vector<UniqueFd> dup_fds(const detail::ExportedHandle& h) {
  std::vector<UniqueFd> out;
  for (int fd : h.fds) out.emplace_back(::fcntl(fd, F_DUPFD_CLOEXEC, 0));
  return out;
}

template <class T, class U>
T round_trip(const U& object) {
  const detail::ExportedHandle h = detail::export_handle(object);
  std::vector<UniqueFd> fds = dup_fds(h);
  return detail::import_handle<T>(h.bytes, fds);
}

// The import of `h` as T throws Error whose message contains `needle`; every fd is taken.
template <class T>
void expect_refused(const std::vector<std::byte>& bytes, std::vector<UniqueFd> fds,
                    const std::string& needle) {
  try {
    (void)detail::import_handle<T>(bytes, fds);
    ADD_FAILURE() << "imported; expected an Error containing \"" << needle << "\"";
  } catch (const mproc::Error& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
  for (const UniqueFd& fd : fds) EXPECT_FALSE(fd.valid());  // taken (and closed) either way
}

// A memfd of `size` bytes; sealed against shrink and grow when `seal`.
UniqueFd make_memfd(std::size_t size, bool seal) {
  UniqueFd fd(::memfd_create("handle-test", MFD_CLOEXEC | MFD_ALLOW_SEALING));
  EXPECT_TRUE(fd.valid());
  EXPECT_EQ(::ftruncate(fd.get(), static_cast<off_t>(size)), 0);
  if (seal) {
    EXPECT_EQ(::fcntl(fd.get(), F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW), 0);
  }
  return fd;
}

std::size_t fd_size(int fd) {
  const off_t end = ::lseek(fd, 0, SEEK_END);
  return static_cast<std::size_t>(end);
}

TEST(Handle, AnImportedLockIsTheSameLock) {
  mproc::Lock lock;
  auto same = round_trip<mproc::Lock>(lock);
  same.acquire();
  EXPECT_FALSE(lock.try_lock());
  same.release();
  EXPECT_TRUE(lock.try_lock());
  lock.release();
}

TEST(Handle, AnImportedQueueEventValueArrayAndMemoryAreTheSameObjects) {
  mproc::Queue<std::string> q(3);
  auto q2 = round_trip<mproc::Queue<std::string>>(q);
  q2.put("x");
  EXPECT_EQ(q.get(), "x");
  EXPECT_EQ(q2.maxsize(), 3u);

  mproc::Event ev;
  round_trip<mproc::Event>(ev).set();
  EXPECT_TRUE(ev.is_set());

  mproc::Value<int> v(5);
  round_trip<mproc::Value<int>>(v).store(6);
  EXPECT_EQ(v.load(), 6);

  mproc::Array<short> a(9, 3);
  auto a2 = round_trip<mproc::Array<short>>(a);
  EXPECT_EQ(a2.size(), 9u);
  a2[8] = 4;
  EXPECT_EQ(a[8], 4);

  auto m = mproc::SharedMemory::create(100);
  auto m2 = round_trip<mproc::SharedMemory>(m);
  m2.data()[99] = std::byte{7};
  EXPECT_EQ(m.data()[99], std::byte{7});
  EXPECT_FALSE(m2.is_named());

  mproc::BoundedSemaphore bs(2);
  auto bs2 = round_trip<mproc::BoundedSemaphore>(bs);
  EXPECT_TRUE(bs2.try_acquire());
  EXPECT_EQ(bs.get_value(), 1u);
  bs.release();
  EXPECT_THROW(bs2.release(), mproc::Error);  // the same bound
}

TEST(Handle, TheStateOfEveryTypeIsASealedMemfdOfItsOwn) {
  mproc::Lock lock;
  const auto h = detail::export_handle(lock);
  ASSERT_EQ(h.fds.size(), 1u);
  const int seals = ::fcntl(h.fds[0], F_GET_SEALS);
  EXPECT_EQ(seals & (F_SEAL_SHRINK | F_SEAL_GROW), F_SEAL_SHRINK | F_SEAL_GROW);
  EXPECT_NE(::fcntl(h.fds[0], F_GETFD) & FD_CLOEXEC, 0);
  EXPECT_EQ(detail::export_handle(mproc::Condition()).fds.size(), 2u);  // its lock, its state
}

TEST(Handle, AnUnsealedMemfdIsRefused) {
  mproc::Event ev;
  const auto h = detail::export_handle(ev);
  std::vector<UniqueFd> fds;
  fds.push_back(make_memfd(fd_size(h.fds[0]), false));
  expect_refused<mproc::Event>(h.bytes, std::move(fds), "not a memfd sealed");
}

TEST(Handle, AFileThatIsNotAMemfdIsRefused) {
  mproc::Event ev;
  const auto h = detail::export_handle(ev);
  int p[2];
  ASSERT_EQ(::pipe2(p, O_CLOEXEC), 0);
  UniqueFd keep(p[1]);
  std::vector<UniqueFd> fds;
  fds.emplace_back(p[0]);
  expect_refused<mproc::Event>(h.bytes, std::move(fds), "not a memfd sealed");
}

TEST(Handle, ASealedMemfdOfTheWrongSizeIsRefused) {
  mproc::Lock lock;
  const auto h = detail::export_handle(lock);
  std::vector<UniqueFd> fds;
  fds.push_back(make_memfd(fd_size(h.fds[0]) + 4096, true));
  expect_refused<mproc::Lock>(h.bytes, std::move(fds), "bytes where its description says");

  mproc::Queue<int> q;  // a queue's description with another queue-sized memfd that is no queue
  const auto hq = detail::export_handle(q);
  std::vector<UniqueFd> qfds;
  qfds.push_back(make_memfd(fd_size(hq.fds[0]), true));
  expect_refused<mproc::Queue<int>>(hq.bytes, std::move(qfds), "not a queue's");
}

TEST(Handle, AnotherKindOrLayoutIsRefused) {
  mproc::Lock lock;
  expect_refused<mproc::Event>(detail::export_handle(lock).bytes,
                               dup_fds(detail::export_handle(lock)), "another kind");
  mproc::RLock rlock;
  auto h = detail::export_handle(rlock);
  // The kind field says lock, the memory holds an RLock: the state itself is checked too.
  std::vector<std::byte> forged = h.bytes;
  forged[4] = std::byte{static_cast<unsigned char>(detail::HandleKind::lock)};
  expect_refused<mproc::Lock>(forged, dup_fds(h), "an RLock");

  mproc::Value<int> v;
  expect_refused<mproc::Value<double>>(detail::export_handle(v).bytes,
                                       dup_fds(detail::export_handle(v)), "bytes aligned to");
  mproc::Semaphore unbounded;
  expect_refused<mproc::BoundedSemaphore>(detail::export_handle(unbounded).bytes,
                                          dup_fds(detail::export_handle(unbounded)), "not bounded");
}

TEST(Handle, WrongFdCountsAndDamagedBytesAreRefused) {
  mproc::Event ev;
  const auto h = detail::export_handle(ev);
  expect_refused<mproc::Event>(h.bytes, {}, "exported with 1 fds, 0 were passed");
  std::vector<UniqueFd> two = dup_fds(h);
  two.push_back(make_memfd(4096, true));
  expect_refused<mproc::Event>(h.bytes, std::move(two), "exported with 1 fds, 2 were passed");
  std::vector<std::byte> cut(h.bytes.begin(), h.bytes.end() - 1);
  expect_refused<mproc::Event>(cut, dup_fds(h), "end too early");
  expect_refused<mproc::Event>(std::vector<std::byte>(3), dup_fds(h), "not an exported handle");
}

TEST(Handle, ExportingAMovedFromQueueOrAClosedConnectionIsAnError) {
  mproc::Queue<int> q;
  mproc::Queue<int> taken(std::move(q));
  EXPECT_THROW((void)detail::export_handle(q), mproc::Error);  // NOLINT(bugprone-use-after-move)
  EXPECT_NO_THROW((void)detail::export_handle(taken));

  auto [a, b] = mproc::Pipe<int>();
  mproc::Connection<int> moved(std::move(a));
  EXPECT_THROW((void)detail::export_handle(a), mproc::Error);  // NOLINT(bugprone-use-after-move)
  b.close();
  try {
    (void)detail::export_handle(b);
    ADD_FAILURE() << "exported a closed connection";
  } catch (const mproc::Error& e) {
    EXPECT_NE(std::string(e.what()).find("closed"), std::string::npos) << e.what();
  }
}

TEST(Handle, AConnectionWithBufferedBytesIsNotExported) {
  auto [a, b] = mproc::Pipe<int>();
  b.send(1);
  b.send(2);
  EXPECT_EQ(a.recv(), 1);  // one recv reads both frames: 2 sits in a's buffer
  if (a.has_buffered_data()) {
    EXPECT_THROW((void)detail::export_handle(a), mproc::Error);
  }
  EXPECT_EQ(a.recv(), 2);
  auto c = round_trip<mproc::Connection<int>>(a);
  b.send(3);
  EXPECT_EQ(c.recv(), 3);
}

TEST(Handle, AConnectionImportNeedsASocket) {
  auto [a, b] = mproc::Pipe<int>();
  const auto h = detail::export_handle(a);
  std::vector<UniqueFd> fds;
  fds.push_back(make_memfd(4096, true));
  expect_refused<mproc::Connection<int>>(h.bytes, std::move(fds), "not a socket");
}

}  // namespace
