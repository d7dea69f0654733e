#include "launch/spawn.hpp"

#include <csignal>
#include <cstdint>
#include <cstdlib>
#include <mutex>
#include <string>

#include "mproc/error.hpp"
#include "sys/fork.hpp"
#include "sys/pidfd.hpp"
#include "sys/poll.hpp"
#include "sys/socket.hpp"
#include "sys/spawn.hpp"

namespace mproc::launch {
namespace {

constexpr const char* kEnv = "MPROC_SPAWN";
constexpr std::uint64_t kMaxMessage = std::uint64_t{1} << 30;
constexpr std::byte kAck{'R'};

// The program's arguments, as init() received them: process-wide by nature (Python keeps
// sys.argv), written once.
struct Arguments {
  std::mutex mu;
  bool saved = false;
  std::vector<std::string> argv;
};

Arguments& arguments() {
  static Arguments a;
  return a;
}

}  // namespace

void send_start_message(int sock, Role role, std::span<const std::byte> payload,
                        std::span<const int> fds) {
  const std::uint64_t head[2] = {payload.size() + 1, fds.size()};
  const std::byte role_byte{static_cast<std::uint8_t>(role)};
  const std::span<const std::byte> parts[3] = {
      std::as_bytes(std::span<const std::uint64_t>(head)), std::span(&role_byte, 1), payload};
  sys::send_all(sock, parts);
  if (!fds.empty()) sys::send_fds(sock, fds);
}

std::optional<StartMessage> read_start_message(int sock) {
  std::uint64_t head[2] = {0, 0};
  if (sys::read_full(sock, head, sizeof head) != sizeof head || head[0] == 0 ||
      head[0] > kMaxMessage || head[1] > sys::kMaxPassedFds) {
    return std::nullopt;
  }
  std::vector<std::byte> bytes(static_cast<std::size_t>(head[0]));
  if (sys::read_full(sock, bytes.data(), bytes.size()) != bytes.size()) return std::nullopt;
  StartMessage message;
  message.role = static_cast<Role>(bytes[0]);
  message.payload.assign(bytes.begin() + 1, bytes.end());
  if (head[1] != 0) message.fds = sys::recv_fds(sock, static_cast<std::size_t>(head[1]));
  return message;
}

bool save_arguments(int argc, char** argv) {
  Arguments& a = arguments();
  std::lock_guard lock(a.mu);
  if (a.saved) return false;
  for (int i = 0; i < argc && argv != nullptr && argv[i] != nullptr; ++i) a.argv.emplace_back(argv[i]);
  if (a.argv.empty()) a.argv.emplace_back("mproc-worker");
  a.saved = true;
  return true;
}

bool have_arguments() noexcept {
  Arguments& a = arguments();
  std::lock_guard lock(a.mu);
  return a.saved;
}

Child spawn_child(Role role, std::span<const std::byte> payload, std::span<const int> fds,
                  Await await) {
  if (fds.size() > sys::kMaxPassedFds) throw Error("spawn_child: too many fds to pass");
  std::vector<std::string> argv;
  {
    Arguments& a = arguments();
    std::lock_guard lock(a.mu);
    if (!a.saved) {
      throw Error(
          "the spawn start method needs mproc::init(argc, argv) as the first statement of main: "
          "a spawned child runs this program again, and init() is where it becomes the worker");
    }
    argv = a.argv;
  }
  auto [mine, theirs] = sys::stream_socketpair();
  const std::string env = std::string(kEnv) + "=" + std::to_string(sys::kSpawnedFd) + ":" +
                          std::to_string(sys::current_pid());
  Child child;
  child.pid = sys::spawn_self(argv, {env}, theirs.get());
  theirs.reset();
  try {
    child.pidfd = sys::pidfd_open(child.pid);
  } catch (...) {
    sys::kill_and_reap(child.pid);
    throw;
  }
  try {
    send_start_message(mine.get(), role, payload, fds);
    // The message waits in the socket for the child; its acknowledgement is then not read.
    if (await == Await::nothing) return child;
    // The acknowledgement, or the child's death (the caller then sees how through the pidfd).
    const int watch[2] = {mine.get(), child.pidfd.get()};
    bool ready[2] = {false, false};
    (void)sys::wait_readable(watch, ready, std::nullopt);
    if (ready[0]) {
      std::byte ack{};
      (void)sys::recv_some(mine.get(), &ack, 1, false);
    }
  } catch (const SystemError& e) {
    // EPIPE: the child died before reading (e.g. killed); it is still ours to reap.
    if (e.code() != std::errc::broken_pipe && e.code() != std::errc::connection_reset) {
      (void)sys::pidfd_send_signal(child.pidfd.get(), SIGKILL);
      (void)sys::reap_pidfd_noexcept(child.pidfd.get(), true);
      throw;
    }
  }
  return child;
}

std::optional<StartMessage> take_start_message() {
  const std::string spec = sys::take_env(kEnv);
  if (spec.empty()) return std::nullopt;
  const auto colon = spec.find(':');
  const int fd = std::atoi(spec.substr(0, colon).c_str());
  const int parent = colon == std::string::npos ? 0 : std::atoi(spec.substr(colon + 1).c_str());
  if (sys::child::die_with_parent(parent) != 0) sys::child::exit_now(127);
  try {
    std::optional<StartMessage> message = read_start_message(fd);
    if (!message) sys::child::exit_now(127);
    // MSG_NOSIGNAL: a spawner that did not wait for it (Await::nothing) may have closed its end.
    try {
      const std::span<const std::byte> ack(&kAck, 1);
      sys::send_all(fd, {&ack, 1});
    } catch (const SystemError&) {
    }
    sys::child::close_fd(fd);
    return message;
  } catch (...) {
    sys::child::exit_now(127);
  }
}

}  // namespace mproc::launch
