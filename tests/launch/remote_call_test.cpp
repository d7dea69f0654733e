#include "mproc/detail/remote_call.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

#include "remote_lib.hpp"
#include "support/child_guard.hpp"

extern char** environ;

// Counts operator new calls, for the allocation test.
std::atomic<long> g_allocations{0};
void* operator new(std::size_t n) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
// Not inlined: GCC would see free() meet operator new's pointer and warn of a mismatch.
[[gnu::noinline]] void operator delete(void* p) noexcept { std::free(p); }
[[gnu::noinline]] void operator delete(void* p, std::size_t) noexcept { std::free(p); }

namespace {

using mproc::detail::encode_remote_call;
using mproc::detail::encode_remote_task;
using mproc::detail::run_remote_call;
using mproc::detail::run_remote_task;

std::string& log() { return remote_lib::log(); }

void main_record(int x) { log() += "main.record(" + std::to_string(x) + ");"; }
void main_throw(std::string what) { throw std::runtime_error(what); }
int main_square(int x) { return x * x; }

struct Job {
  std::string name;
  std::vector<double> xs;
  template <class Ar>
  void serialize(Ar& ar) {
    ar(name, xs);
  }
};

void many_args(int i, double d, std::string s, std::vector<int> v, std::map<std::string, int> m,
               std::optional<long> o, Job j, std::tuple<char, bool> t) {
  std::string text = "many(" + std::to_string(i) + "," + std::to_string(d) + "," + s + ",[";
  for (int x : v) text += std::to_string(x) + " ";
  text += "],{";
  for (const auto& [k, x] : m) text += k + "=" + std::to_string(x) + " ";
  text += "}," + (o ? std::to_string(*o) : std::string("none")) + "," + j.name + ":" +
          std::to_string(j.xs.size()) + "," + std::get<0>(t) + (std::get<1>(t) ? "T" : "F") + ");";
  log() += text;
}

// A callable type with state and serialize().
struct Scaler {
  int factor = 0;
  std::string label;
  template <class Ar>
  void serialize(Ar& ar) {
    ar(factor, label);
  }
  void operator()(int x) const { log() += label + "=" + std::to_string(factor * x) + ";"; }
};

// An empty callable type.
struct Greeter {
  void operator()(const std::string& who) const { log() += "hello " + who + ";"; }
};

// The calls the tests send, by name: built the same way in the parent and in the re-executed
// child (which only needs them to instantiate the same trampolines).
auto captureless_lambda = [](int x) { log() += "lambda(" + std::to_string(x) + ");"; };

std::vector<std::byte> make_trivial_closure_call(int a, double b) {
  auto closure = [a, b](int x) {
    log() += "closure(" + std::to_string(a * x) + "," + std::to_string(b) + ");";
  };
  static_assert(std::is_trivially_copyable_v<decltype(closure)>);
  return encode_remote_call(closure, 7);
}

// --- the child role: this binary re-executed with MPROC_REMOTE_CALL_CHILD set --------------
// Runs before main (and GoogleTest): reads one message on stdin, runs it, writes
// "ok <log>\n<result bytes>" or "<error kind>: <what>\n" on stdout, and exits.
void write_all(int fd, const void* data, std::size_t size) {
  const char* p = static_cast<const char*>(data);
  while (size > 0) {
    const ssize_t n = ::write(fd, p, size);
    if (n <= 0) {
      if (n < 0 && errno == EINTR) continue;
      return;
    }
    p += n;
    size -= static_cast<std::size_t>(n);
  }
}

std::vector<std::byte> read_all(int fd) {
  std::vector<std::byte> out;
  std::byte buf[4096];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out.insert(out.end(), buf, buf + n);
  }
  return out;
}

[[maybe_unused]] const bool g_child_role = [] {
  const char* mode = std::getenv("MPROC_REMOTE_CALL_CHILD");
  if (mode == nullptr) return false;
  const std::vector<std::byte> message = read_all(0);
  std::string status;
  std::vector<std::byte> result;
  try {
    if (std::strcmp(mode, "task") == 0) {
      result = run_remote_task(message);
    } else {
      run_remote_call(message);
    }
    status = "ok " + log();
  } catch (const mproc::DecodeError& e) {
    status = std::string("DecodeError: ") + e.what();
  } catch (const mproc::Error& e) {
    status = std::string("Error: ") + e.what();
  } catch (const std::exception& e) {
    status = std::string("exception: ") + e.what();
  }
  status += '\n';
  write_all(1, status.data(), status.size());
  write_all(1, result.data(), result.size());
  std::_Exit(0);
}();

struct Outcome {
  std::string status;  // "ok <log>" or "<error kind>: <what>"
  std::vector<std::byte> result;
};

// Runs `message` in a fresh exec of `exe` (this test binary by default) and returns what it
// reported.
Outcome run_in_exec(const std::vector<std::byte>& message, const char* mode = "call",
                    const char* exe = "/proc/self/exe") {
  int to_child[2], from_child[2];
  EXPECT_EQ(::pipe2(to_child, O_CLOEXEC), 0);
  EXPECT_EQ(::pipe2(from_child, O_CLOEXEC), 0);
  posix_spawn_file_actions_t actions;
  ::posix_spawn_file_actions_init(&actions);
  ::posix_spawn_file_actions_adddup2(&actions, to_child[0], 0);
  ::posix_spawn_file_actions_adddup2(&actions, from_child[1], 1);
  std::vector<std::string> env_text;
  for (char** e = environ; *e != nullptr; ++e) {
    if (std::strncmp(*e, "MPROC_REMOTE_CALL_CHILD=", 24) != 0) env_text.emplace_back(*e);
  }
  env_text.push_back(std::string("MPROC_REMOTE_CALL_CHILD=") + mode);
  std::vector<char*> envp;
  for (auto& s : env_text) envp.push_back(s.data());
  envp.push_back(nullptr);
  char* argv[] = {const_cast<char*>(exe), nullptr};
  mproc::test::ChildGuard guard;
  pid_t pid = -1;
  const int rc = ::posix_spawn(&pid, exe, &actions, nullptr, argv, envp.data());
  ::posix_spawn_file_actions_destroy(&actions);
  ::close(to_child[0]);
  ::close(from_child[1]);
  Outcome out;
  if (rc != 0) {
    ADD_FAILURE() << "posix_spawn: " << std::strerror(rc);
    ::close(to_child[1]);
    ::close(from_child[0]);
    return out;
  }
  guard.adopt(pid);
  write_all(to_child[1], message.data(), message.size());
  ::close(to_child[1]);
  std::vector<std::byte> bytes = read_all(from_child[0]);
  ::close(from_child[0]);
  const int status = guard.reap(pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "child status " << status;
  std::size_t nl = 0;
  while (nl < bytes.size() && bytes[nl] != std::byte{'\n'}) ++nl;
  out.status.assign(reinterpret_cast<const char*>(bytes.data()), nl);
  if (nl < bytes.size())
    out.result.assign(bytes.begin() + static_cast<std::ptrdiff_t>(nl) + 1, bytes.end());
  return out;
}

class RemoteCall : public testing::Test {
 protected:
  void SetUp() override { log().clear(); }
};

// --- which callables and arguments are accepted: compile time --------------------------------

TEST_F(RemoteCall, RefusesAtCompileTimeWhatCannotCross) {
  using mproc::detail::remote_call_ok;
  using mproc::detail::remote_callable;
  auto captures_string = [s = std::string("x")](int) { (void)s; };
  auto captures_int = [n = 3](int x) { return n * x; };
  static_assert(!remote_callable<decltype(captures_string)>);
  static_assert(!remote_callable<std::function<void(int)>>);
  static_assert(!remote_callable<void (Job::*)()>);
  static_assert(!remote_callable<int*>);
  static_assert(remote_callable<decltype(captures_int)>);
  static_assert(remote_callable<decltype(captureless_lambda)>);
  static_assert(remote_callable<void (*)(int)>);
  static_assert(remote_callable<void(int)>);
  static_assert(remote_callable<Scaler>);
  static_assert(remote_callable<Greeter>);
  static_assert(remote_call_ok<void (*)(int), int>);
  static_assert(
      remote_call_ok<decltype(&many_args), int, double, std::string, std::vector<int>,
                     std::map<std::string, int>, std::optional<long>, Job, std::tuple<char, bool>>);
  static_assert(!remote_call_ok<decltype(captures_string), int>);
  static_assert(!remote_call_ok<void (*)(std::string), const char*>, "a pointer argument");
  static_assert(!remote_call_ok<void (*)(std::string), char[4]>, "decays to a pointer");
  static_assert(!remote_call_ok<void (*)(int), std::unique_ptr<int>>);
  static_assert(!remote_call_ok<void (*)(int)>, "wrong arity");
  static_assert(!remote_call_ok<void (*)(int), std::string>, "not invocable");
  static_assert(!mproc::detail::remote_task_ok<std::unique_ptr<int> (*)()>);
  static_assert(mproc::detail::remote_task_ok<int (*)(int), int>);
}

// --- in this process: the names resolve to themselves ----------------------------------------

TEST_F(RemoteCall, RunsEachKindOfTaskFunctionInThisProcess) {
  run_remote_call(encode_remote_call(&main_record, 1));
  run_remote_call(encode_remote_call(main_record, 2));  // a function, not a pointer
  run_remote_call(encode_remote_call(&remote_lib::record, 3));
  run_remote_call(encode_remote_call(captureless_lambda, 4));
  run_remote_call(make_trivial_closure_call(5, 0.5));
  run_remote_call(encode_remote_call(Scaler{10, "scaled"}, 6));
  run_remote_call(encode_remote_call(Greeter{}, std::string("world")));
  run_remote_call(remote_lib::encode_lambda_call(8));
  run_remote_call(remote_lib::encode_record_call(9));
  EXPECT_EQ(log(),
            "main.record(1);main.record(2);lib.record(3);lambda(4);closure(35,0.500000);"
            "scaled=60;hello world;lib.lambda(8);lib.record(9);");
}

TEST_F(RemoteCall, ExceptionsFromTheCallPropagate) {
  EXPECT_THROW(run_remote_call(encode_remote_call(&main_throw, std::string("boom"))),
               std::runtime_error);
  EXPECT_THROW(run_remote_call(encode_remote_call(&remote_lib::throw_logic_error, 3)),
               std::logic_error);
}

TEST_F(RemoteCall, ANullFunctionPointerIsRefused) {
  void (*null)(int) = nullptr;
  EXPECT_THROW((void)encode_remote_call(null, 1), mproc::Error);
}

TEST_F(RemoteCall, TaskReturnsTheEncodedResult) {
  EXPECT_EQ(mproc::decode<int>(run_remote_task(encode_remote_task(&main_square, 12))), 144);
  EXPECT_EQ(mproc::decode<int>(run_remote_task(encode_remote_task(&remote_lib::triple, 5))), 15);
  auto join = [](std::vector<std::string> parts, std::string sep) {
    std::string s;
    for (auto& p : parts) s += (s.empty() ? "" : sep) + p;
    return s;
  };
  EXPECT_EQ(mproc::decode<std::string>(run_remote_task(encode_remote_task(
                join, std::vector<std::string>{"a", "b", "c"}, std::string("-")))),
            "a-b-c");
  EXPECT_TRUE(run_remote_task(encode_remote_task(&main_record, 1)).empty()) << "void: no bytes";
  EXPECT_THROW((void)run_remote_task(encode_remote_call(&main_square, 2)), mproc::Error);
  run_remote_call(encode_remote_task(&main_record, 2));  // a task run as a call: result dropped
  EXPECT_EQ(log(), "lib.triple(5);main.record(1);main.record(2);");
}

TEST_F(RemoteCall, EncodingAFunctionPointerAndAnIntAllocatesOnlyTheMessage) {
  (void)encode_remote_call(&main_record, 1);  // first use reads the main program's segments
  (void)encode_remote_call(&remote_lib::record, 1);
  const long before = g_allocations.load();
  std::vector<std::byte> m = encode_remote_call(&main_record, 42);
  EXPECT_EQ(g_allocations.load() - before, 1);
  EXPECT_EQ(m.size(), m.capacity()) << "reserved exactly";
  const long before_lib = g_allocations.load();
  std::vector<std::byte> lib = encode_remote_call(&remote_lib::record, 42);
  EXPECT_EQ(g_allocations.load() - before_lib, 1) << "the library's name is cached too";
}

// --- tampered messages: errors, never a jump into garbage ------------------------------------

template <class Fn>
std::string error_of(Fn fn) {
  try {
    fn();
  } catch (const mproc::DecodeError& e) {
    return std::string("DecodeError: ") + e.what();
  } catch (const mproc::Error& e) {
    return std::string("Error: ") + e.what();
  }
  return "no error";
}

// The message's layout (src/launch/remote_call.cpp): the check at 6 covers [14, names_end).
constexpr std::size_t kSignatureAt = 14;
constexpr std::size_t kNameAt = 22;

// Recomputes a message's check after a deliberate change (payload_size: bytes after the names).
void reseal(std::vector<std::byte>& m, std::size_t payload_size) {
  const std::uint64_t h = mproc::detail::remote_message_check(
      std::span<const std::byte>(m).subspan(kSignatureAt, m.size() - payload_size - kSignatureAt));
  std::memcpy(&m[6], &h, 8);
}

TEST_F(RemoteCall, ATamperedMessageIsAnErrorNotACrash) {
  const std::vector<std::byte> good = encode_remote_call(&main_record, 5);
  // Every truncation.
  for (std::size_t n = 0; n < good.size(); ++n) {
    std::vector<std::byte> cut(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(n));
    const std::string e = error_of([&] { run_remote_call(cut); });
    EXPECT_EQ(e.rfind("DecodeError", 0), 0u) << n << ": " << e;
  }
  // Trailing bytes.
  std::vector<std::byte> longer = good;
  longer.push_back(std::byte{0});
  EXPECT_EQ(error_of([&] { run_remote_call(longer); }).rfind("DecodeError", 0), 0u);
  // Every single-byte corruption outside the payload (the int's 4 bytes) is an error, never a
  // crash. Then the interesting ones by field.
  for (std::size_t i = 0; i + 4 < good.size(); ++i) {
    std::vector<std::byte> bad = good;
    bad[i] ^= std::byte{0x5a};
    const std::string e = error_of([&] { run_remote_call(bad); });
    EXPECT_NE(e, "no error") << "byte " << i;
  }
  EXPECT_EQ(log(), "");
  std::vector<std::byte> bad_magic = good;
  bad_magic[0] = std::byte{'X'};
  EXPECT_NE(error_of([&] { run_remote_call(bad_magic); }).find("bad magic"), std::string::npos);
  // The signature of another trampoline.
  std::vector<std::byte> other = encode_remote_call(&main_record, 5);
  const std::vector<std::byte> square = encode_remote_call(&main_square, 5);
  std::memcpy(&other[kSignatureAt], &square[kSignatureAt], 8);
  EXPECT_NE(error_of([&] { run_remote_call(other); }).find("check does not match"),
            std::string::npos);
  reseal(other, sizeof(int));
  EXPECT_NE(error_of([&] { run_remote_call(other); }).find("another type"), std::string::npos);
}

TEST_F(RemoteCall, ADescriptorOffsetWhereNoTrampolineIsIsRefused) {
  std::vector<std::byte> m = encode_remote_call(&main_record, 5);
  // The descriptor's name follows the header; its offset is its last 8 bytes: aim it at
  // main_record's own code, which is readable but holds no descriptor.
  const std::size_t name_at = kNameAt;
  const std::size_t bid = std::to_integer<std::size_t>(m[name_at + 1]);
  const std::size_t offset_at = name_at + 2 + bid + 8 + 2;  // main program: empty path
  // The function pointer's name (also in the main program) follows; copy its offset over.
  std::uint64_t offset;
  std::memcpy(&offset, &m[offset_at + 8 + 2 + bid + 8 + 2], 8);
  offset &= ~std::uint64_t{alignof(mproc::detail::RemoteEntry) - 1};
  std::memcpy(&m[offset_at], &offset, 8);
  reseal(m, sizeof(int));
  const std::string e = error_of([&] { run_remote_call(m); });
  EXPECT_NE(e.find("no trampoline"), std::string::npos) << e;
}

// --- across exec: a fresh process running this executable -----------------------------------

TEST_F(RemoteCall, RunsAFunctionPointerOfTheMainProgramInAFreshExec) {
  EXPECT_EQ(run_in_exec(encode_remote_call(&main_record, 11)).status, "ok main.record(11);");
}

TEST_F(RemoteCall, RunsAFunctionPointerOfASharedLibraryInAFreshExec) {
  EXPECT_EQ(run_in_exec(encode_remote_call(&remote_lib::record, 12)).status, "ok lib.record(12);");
  EXPECT_EQ(run_in_exec(remote_lib::encode_record_call(13)).status, "ok lib.record(13);");
  EXPECT_EQ(run_in_exec(remote_lib::encode_lambda_call(14)).status, "ok lib.lambda(14);");
}

TEST_F(RemoteCall, RunsLambdasAndClosuresInAFreshExec) {
  EXPECT_EQ(run_in_exec(encode_remote_call(captureless_lambda, 15)).status, "ok lambda(15);");
  EXPECT_EQ(run_in_exec(make_trivial_closure_call(3, 1.5)).status, "ok closure(21,1.500000);");
  EXPECT_EQ(run_in_exec(encode_remote_call(Scaler{2, "s"}, 8)).status, "ok s=16;");
  EXPECT_EQ(run_in_exec(encode_remote_call(Greeter{}, std::string("exec"))).status,
            "ok hello exec;");
}

TEST_F(RemoteCall, RunsCallsWithManyArgumentTypesInAFreshExec) {
  const std::vector<std::byte> m =
      encode_remote_call(&many_args, 7, 2.5, std::string("str"), std::vector<int>{1, 2, 3},
                         std::map<std::string, int>{{"a", 1}, {"b", 2}}, std::optional<long>(99),
                         Job{"job", {1.0, 2.0}}, std::tuple<char, bool>('q', true));
  EXPECT_EQ(run_in_exec(m).status, "ok many(7,2.500000,str,[1 2 3 ],{a=1 b=2 },99,job:2,qT);");
}

TEST_F(RemoteCall, ReturnsATaskResultFromAFreshExec) {
  Outcome out = run_in_exec(encode_remote_task(&main_square, 9), "task");
  EXPECT_EQ(out.status, "ok ");
  EXPECT_EQ(mproc::decode<int>(out.result), 81);
  out = run_in_exec(encode_remote_task(&remote_lib::triple, 4), "task");
  EXPECT_EQ(out.status, "ok lib.triple(4);");
  EXPECT_EQ(mproc::decode<int>(out.result), 12);
}

TEST_F(RemoteCall, AnExceptionInAFreshExecReachesItsCaller) {
  EXPECT_EQ(run_in_exec(encode_remote_call(&main_throw, std::string("kaboom"))).status,
            "exception: kaboom");
}

TEST_F(RemoteCall, ATamperedMessageIsAnErrorInAFreshExec) {
  std::vector<std::byte> m = encode_remote_call(&main_record, 5);
  m[kNameAt + 2] ^= std::byte{1};  // the descriptor's module's build id
  reseal(m, sizeof(int));
  const Outcome out = run_in_exec(m);
  EXPECT_EQ(out.status.rfind("Error: mproc: the main program (", 0), 0u) << out.status;
  EXPECT_NE(out.status.find("is a different build"), std::string::npos) << out.status;
}

// --- another executable with the same shared library -----------------------------------------

TEST_F(RemoteCall, AnotherExecutableRunsCallsNamingOnlyTheSharedLibrary) {
  EXPECT_EQ(run_in_exec(remote_lib::encode_lambda_call(21), "call", MPROC_REMOTE_OTHER_EXE).status,
            "ok lib.lambda(21);");
  // Not encode_record_call: its trampoline's descriptor (an inline variable of a type both
  // modules use) is unified with the main program's copy by the dynamic linker, so its name
  // is the test program's and another executable refuses it.
}

TEST_F(RemoteCall, AnotherExecutableRefusesCallsNamingThisMainProgram) {
  const Outcome out =
      run_in_exec(encode_remote_call(&remote_lib::record, 1), "call", MPROC_REMOTE_OTHER_EXE);
  EXPECT_EQ(out.status.rfind("Error: mproc: the main program (", 0), 0u) << out.status;
  EXPECT_NE(out.status.find("remote_call_other_exe) is a different build"), std::string::npos)
      << out.status;
}

}  // namespace
