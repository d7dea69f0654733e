// Handles across a real exec (mproc/detail/handle.hpp): this test binary runs again with
// posix_spawn("/proc/self/exe") and MPROC_HANDLE_TEST_CHILD=<scenario> (fd 3: a socket to the
// test), shares no memory with the test, receives exported handles with SCM_RIGHTS, imports them
// and uses them. The test then proves they were the same objects: what the child put, set,
// wrote or held is seen here.
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "mproc/detail/handle.hpp"
#include "mproc/error.hpp"
#include "support/child_guard.hpp"
#include "support/leak_check.hpp"
#include "sys/socket.hpp"
#include "sys/unique_fd.hpp"

extern char** environ;

namespace {

namespace detail = mproc::detail;
namespace sys = mproc::sys;
using namespace std::chrono_literals;

constexpr int kChildFd = 3;
constexpr const char* kRoleVar = "MPROC_HANDLE_TEST_CHILD";

// --- the wire between test and child: u64 length, bytes, then send_fds (SCM_RIGHTS) ---

void send_u64(int fd, std::uint64_t v) {
  const std::span<const std::byte> part(reinterpret_cast<const std::byte*>(&v), sizeof v);
  sys::send_all(fd, std::span(&part, 1));
}

void read_exact(int fd, std::byte* p, std::size_t n) {
  while (n > 0) {
    const std::size_t got = sys::recv_some(fd, p, n, true);
    if (got == 0) throw mproc::EOFError("the other side went away");
    p += got;
    n -= got;
  }
}

std::uint64_t recv_u64(int fd) {
  std::uint64_t v = 0;
  read_exact(fd, reinterpret_cast<std::byte*>(&v), sizeof v);
  return v;
}

void send_handle(int fd, const detail::ExportedHandle& h) {
  send_u64(fd, h.bytes.size());
  const std::span<const std::byte> part(h.bytes);
  sys::send_all(fd, std::span(&part, 1));
  send_u64(fd, h.fds.size());
  sys::send_fds(fd, h.fds);
}

template <class T>
T recv_handle(int fd) {
  std::vector<std::byte> bytes(recv_u64(fd));
  read_exact(fd, bytes.data(), bytes.size());
  std::vector<sys::UniqueFd> fds = sys::recv_fds(fd, recv_u64(fd));
  return detail::import_handle<T>(bytes, fds);
}

void send_line(int fd, const std::string& line) {
  const std::string s = line + "\n";
  const std::span<const std::byte> part(reinterpret_cast<const std::byte*>(s.data()), s.size());
  sys::send_all(fd, std::span(&part, 1));
}

std::string recv_line(int fd) {
  std::string s;
  for (;;) {
    std::byte b{};
    if (sys::recv_some(fd, &b, 1, true) == 0) return s.empty() ? "<eof>" : s + "<eof>";
    if (b == std::byte{'\n'}) return s;
    s.push_back(static_cast<char>(b));
  }
}

// --- the child: one scenario per value of MPROC_HANDLE_TEST_CHILD ---

void run_child(const std::string& role, int fd) {
  if (role == "queue") {
    auto q = recv_handle<mproc::Queue<std::string>>(fd);
    auto jq = recv_handle<mproc::JoinableQueue<int>>(fd);
    const std::string got = q.get();  // the test put it before exporting
    q.put("from child");
    jq.task_done();
    send_line(fd, "got " + got);
  } else if (role == "lock") {
    auto lock = recv_handle<mproc::Lock>(fd);
    lock.acquire();
    send_line(fd, "held");
    (void)recv_line(fd);  // until the test has seen the lock held
    ::raise(SIGKILL);     // dies holding it
  } else if (role == "event") {
    auto ev = recv_handle<mproc::Event>(fd);
    auto sem = recv_handle<mproc::Semaphore>(fd);
    auto barrier = recv_handle<mproc::Barrier>(fd);
    (void)barrier.wait(30s);  // both sides arrive: the test's wait returns too
    ev.set();
    sem.release(2);
    send_line(fd, "set");
  } else if (role == "condition") {
    auto cv = recv_handle<mproc::Condition>(fd);
    auto flag = recv_handle<mproc::Value<int>>(fd);
    {
      std::lock_guard g(cv);
      flag.store(1);
    }
    cv.notify_all();
    send_line(fd, "notified");
  } else if (role == "memory") {
    auto v = recv_handle<mproc::Value<long>>(fd);
    auto a = recv_handle<mproc::Array<double>>(fd);
    auto anon = recv_handle<mproc::SharedMemory>(fd);
    auto named = recv_handle<mproc::SharedMemory>(fd);
    const long seen = v.load();
    v.store(seen + 1);
    for (std::size_t i = 0; i < a.size(); ++i) a[i] = static_cast<double>(i) * 1.5;
    std::memcpy(anon.data(), "anonymous", 9);
    std::memcpy(named.data(), "named", 5);
    send_line(fd, "saw " + std::to_string(seen) + " size " + std::to_string(a.size()) + " " +
                      std::to_string(anon.size()) + " " + named.name() + " " +
                      std::to_string(named.size()));
  } else if (role == "connection") {
    auto c = recv_handle<mproc::Connection<std::string>>(fd);
    const std::string ping = c.recv();
    c.send(ping + " pong");
    send_line(fd, "replied");
  } else {
    send_line(fd, "unknown role " + role);
  }
}

[[maybe_unused]] const bool g_child_role = [] {
  const char* role = std::getenv(kRoleVar);
  if (role == nullptr) return false;
  try {
    run_child(role, kChildFd);
  } catch (const std::exception& e) {
    send_line(kChildFd, std::string("exception: ") + e.what());
  }
  std::_Exit(0);
}();

// --- the test's side ---

// A fresh exec of this binary in `role`, with a socket to it.
class Child {
 public:
  explicit Child(const std::string& role) {
    auto [mine, theirs] = sys::stream_socketpair();
    // dup2(3, 3) would keep close-on-exec: make sure the child's end is not already fd 3.
    if (theirs.get() == kChildFd) theirs = sys::dup_cloexec(theirs.get());
    posix_spawn_file_actions_t actions;
    ::posix_spawn_file_actions_init(&actions);
    ::posix_spawn_file_actions_adddup2(&actions, theirs.get(), kChildFd);
    std::vector<std::string> env_text;
    for (char** e = environ; *e != nullptr; ++e) {
      if (std::strncmp(*e, kRoleVar, std::strlen(kRoleVar)) != 0) env_text.emplace_back(*e);
    }
    env_text.push_back(std::string(kRoleVar) + "=" + role);
    std::vector<char*> envp;
    for (auto& s : env_text) envp.push_back(s.data());
    envp.push_back(nullptr);
    char exe[] = "/proc/self/exe";
    char* argv[] = {exe, nullptr};
    const int rc = ::posix_spawn(&pid_, exe, &actions, nullptr, argv, envp.data());
    ::posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) throw std::runtime_error(std::string("posix_spawn: ") + std::strerror(rc));
    guard_.adopt(pid_);
    sock_ = std::move(mine);
  }

  template <class T>
  void send(const T& handle) {
    send_handle(sock_.get(), detail::export_handle(handle));
  }
  [[nodiscard]] std::string line() { return recv_line(sock_.get()); }
  void say(const std::string& line) { send_line(sock_.get(), line); }
  [[nodiscard]] int wait() { return guard_.reap(pid_); }

 private:
  mproc::test::ChildGuard guard_;
  pid_t pid_ = -1;
  sys::UniqueFd sock_;
};

TEST(HandleExec, AQueueImportedAfterExecIsTheSameQueue) {
  mproc::Queue<std::string> q;
  mproc::JoinableQueue<int> jq;
  q.put("from parent");
  jq.put(7);
  Child child("queue");
  child.send(q);
  child.send(jq);
  EXPECT_EQ(child.line(), "got from parent");
  EXPECT_EQ(q.get(5s), std::optional<std::string>("from child"));
  EXPECT_EQ(jq.get(), 7);
  EXPECT_TRUE(jq.join(5s));  // the child's task_done counted here
  const int status = child.wait();
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
}

TEST(HandleExec, ALockHeldByAnExecedChildThatDiesGivesOwnerDied) {
  mproc::Lock lock;
  Child child("lock");
  child.send(lock);
  ASSERT_EQ(child.line(), "held");
  EXPECT_FALSE(lock.try_lock());  // the child holds it
  child.say("die");
  const int status = child.wait();
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << status;
  EXPECT_THROW(lock.acquire(), mproc::OwnerDied);
  lock.release();  // we hold it after OwnerDied
  EXPECT_TRUE(lock.try_lock());
  lock.release();
}

TEST(HandleExec, AnEventSetInAnExecedChildWakesTheParent) {
  mproc::Event ev;
  mproc::Semaphore sem(0);
  mproc::Barrier barrier(2);
  Child child("event");
  child.send(ev);
  child.send(sem);
  child.send(barrier);
  EXPECT_NO_THROW((void)barrier.wait(30s));
  EXPECT_TRUE(ev.wait(30s));
  EXPECT_TRUE(sem.acquire(30s));
  EXPECT_TRUE(sem.acquire(30s));
  EXPECT_EQ(child.line(), "set");
  const int status = child.wait();
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
}

TEST(HandleExec, AConditionNotifiedInAnExecedChildWakesTheParent) {
  mproc::Condition cv(mproc::RLock{});
  mproc::Value<int> flag(0);
  Child child("condition");
  child.send(cv);
  child.send(flag);
  {
    std::unique_lock g(cv);
    EXPECT_TRUE(cv.wait_for([&] { return flag.load() == 1; }, 30s));
  }
  EXPECT_EQ(child.line(), "notified");
  const int status = child.wait();
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
}

TEST(HandleExec, ValuesArraysAndSharedMemoryWrittenAfterExecAreSeen) {
  const std::string name = mproc::test::shm_name("handle-exec");
  mproc::Value<long> v(41);
  mproc::Array<double> a(5);
  auto anon = mproc::SharedMemory::create(4096);
  auto named = mproc::SharedMemory::create(8192, name);
  struct Unlink {
    const mproc::SharedMemory& m;
    ~Unlink() {
      try {
        m.unlink();
      } catch (...) {
      }
    }
  } unlink{named};
  Child child("memory");
  child.send(v);
  child.send(a);
  child.send(anon);
  child.send(named);
  EXPECT_EQ(child.line(), "saw 41 size 5 4096 " + name + " 8192");
  const int status = child.wait();
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  EXPECT_EQ(v.load(), 42);
  for (std::size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i], static_cast<double>(i) * 1.5);
  EXPECT_EQ(std::memcmp(anon.data(), "anonymous", 9), 0);
  EXPECT_EQ(std::memcmp(named.data(), "named", 5), 0);
}

TEST(HandleExec, AConnectionEndPassedToAnExecedChildTalks) {
  auto [a, b] = mproc::Pipe<std::string>();
  Child child("connection");
  child.send(b);
  b.close();  // the child has its own copy now
  a.send("ping");
  EXPECT_EQ(a.recv(), "ping pong");
  EXPECT_EQ(child.line(), "replied");
  const int status = child.wait();
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  EXPECT_THROW((void)a.recv(), mproc::EOFError);  // the child's end died with it
}

}  // namespace
