#include "launch/forkserver.hpp"

#include <csignal>
#include <cstdint>
#include <cstring>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <utility>
#include <vector>

#include "mproc/error.hpp"
#include "sys/fork.hpp"
#include "sys/pidfd.hpp"
#include "sys/poll.hpp"
#include "sys/socket.hpp"

namespace mproc::launch {
namespace {

// Server -> program: one fixed record per event.
struct Record {
  std::uint32_t type;  // kStarted (a pidfd attached), kExited, kFailed
  std::int32_t pid;
  std::int32_t code;   // kExited: exit code or -signal; kFailed: errno
  std::uint32_t pad;
};
constexpr std::uint32_t kStarted = 1, kExited = 2, kFailed = 3;

// The program's end of the link: process-wide by nature (one server per program, as Python's).
struct Link {
  std::mutex mu;
  sys::UniqueFd sock;
  int server_pid = 0;
  int owner_pid = 0;  // the process that started the server; a forked copy must not use it
  std::map<int, std::deque<int>> exited;  // statuses reported, not yet collected
  std::set<int> running;                  // started by the current server, no status yet

  // At the program's normal exit: end the server and reap it, so it is neither an orphan nor a
  // zombie (a crash leaves that to PR_SET_PDEATHSIG). Not in a forked copy: not its server.
  ~Link() {
    if (sock && owner_pid == sys::current_pid()) {
      sock.reset();
      sys::kill_and_reap(server_pid);
    }
  }
};

Link& link() {
  static Link l;
  return l;
}

// ---------------------------------------------------------------- server side

[[noreturn]] void run_child(int sock, std::vector<sys::UniqueFd>& others, int server,
                            StartMessage& message, RoleRunner runner) noexcept {
  sys::child::close_fd(sock);
  for (auto& fd : others) sys::child::close_fd(fd.release());
  if (sys::child::reset_signal_dispositions() != 0) sys::child::exit_now(127);
  if (sys::child::die_with_parent(server) != 0) sys::child::exit_now(127);
  sigset_t none;
  sigemptyset(&none);
  if (sys::child::set_signal_mask(sys::SignalMask{none}) != 0) sys::child::exit_now(127);
  runner(message);
  sys::child::exit_now(127);  // a runner returns only for a role it does not know
}

void send(int sock, const Record& r, std::span<const int> fds = {}) {
  sys::send_record(sock, std::as_bytes(std::span(&r, 1)), fds);
}

// Ctrl-C and a `kill` of the program's name are for the program, which then ends the server.
void ignore_the_programs_signals() noexcept {
  (void)sys::child::ignore_signal(SIGINT);
  (void)sys::child::ignore_signal(SIGTERM);
}

[[noreturn]] void serve(int sock, RoleRunner runner) noexcept {
  const int self = sys::current_pid();
  std::vector<int> pids;               // children not yet reaped, beside their pidfds
  std::vector<sys::UniqueFd> pidfds;
  try {
    for (;;) {
      std::vector<int> fds{sock};
      for (const auto& p : pidfds) fds.push_back(p.get());
      std::unique_ptr<bool[]> flags(new bool[fds.size()]());
      const std::span<bool> ready_span(flags.get(), fds.size());
      (void)sys::wait_readable(fds, ready_span, std::nullopt);
      // Children that ended: reap, report.
      for (std::size_t i = ready_span.size(); i-- > 1;) {
        if (!ready_span[i]) continue;
        const auto code = sys::reap_pidfd(pidfds[i - 1].get(), false);
        if (!code) continue;
        send(sock, Record{kExited, pids[i - 1], *code, 0});
        pids.erase(pids.begin() + static_cast<std::ptrdiff_t>(i - 1));
        pidfds.erase(pidfds.begin() + static_cast<std::ptrdiff_t>(i - 1));
      }
      if (!ready_span[0]) continue;
      std::optional<StartMessage> request = read_start_message(sock);
      if (!request) sys::child::exit_now(0);  // the program is gone
      StartMessage& message = *request;
      int pid = 0;
      try {
        pid = sys::fork_process();
      } catch (const SystemError& e) {
        send(sock, Record{kFailed, 0, e.code().value(), 0});
        continue;
      }
      if (pid == 0) run_child(sock, pidfds, self, message, runner);
      message.fds.clear();  // the child has them now
      sys::UniqueFd pidfd = sys::pidfd_open(pid);
      const int passed[1] = {pidfd.get()};
      send(sock, Record{kStarted, pid, 0, 0}, passed);
      pids.push_back(pid);
      pidfds.push_back(std::move(pidfd));
    }
  } catch (...) {
    sys::child::exit_now(1);  // the program sees end of file and reports the server's death
  }
}

// ---------------------------------------------------------------- program side

[[noreturn]] void server_gone() {
  throw Error("forkserver: the server process died (killed from outside); the children it had "
              "started died with it, and the next start restarts it");
}

// The server died (killed from outside: it ignores SIGINT and SIGTERM, and outlives nothing of
// ours otherwise). Its children died with it (their PR_SET_PDEATHSIG): each one whose status it
// had not reported is recorded as killed by SIGKILL. The next start restarts it. Requires l.mu.
void forget_server(Link& l) noexcept {
  l.sock.reset();
  sys::kill_and_reap(l.server_pid);
  l.server_pid = 0;
  for (const int pid : l.running) l.exited[pid].push_back(-SIGKILL);
  l.running.clear();
}

// Reads one record; statuses go to the map. Requires l.mu held. The server's death: Error
// (after forget_server).
Record read_record(Link& l, std::vector<sys::UniqueFd>& fds) {
  Record r{};
  if (!sys::recv_record(l.sock.get(), std::as_writable_bytes(std::span(&r, 1)), fds)) {
    forget_server(l);
    server_gone();
  }
  if (r.type == kExited) {
    l.exited[r.pid].push_back(r.code);
    l.running.erase(r.pid);
  }
  return r;
}

// Takes the records already sent; notices a dead server (then forget_server). Requires l.mu.
void drain_records(Link& l) {
  while (l.sock && sys::wait_readable(l.sock.get(), std::chrono::nanoseconds::zero())) {
    std::vector<sys::UniqueFd> unused;
    try {
      (void)read_record(l, unused);
    } catch (const Error&) {
      return;  // forgotten: the caller restarts it
    }
  }
}

// A new server, when the first one was killed: spawned (a fresh exec of this program that
// init() turns into a server: see run_forkserver), never forked, since this program may run
// threads by now. Requires l.mu.
void restart_server(Link& l) {
  auto [mine, theirs] = sys::stream_socketpair();
  const int passed[1] = {theirs.get()};
  Child server = spawn_child(Role::forkserver, {}, passed);
  l.sock = std::move(mine);
  l.server_pid = server.pid;
  // Reaped by kill_and_reap (waitpid) like the first server: the pidfd is not needed.
}

}  // namespace

void start_forkserver(RoleRunner runner) {
  Link& l = link();
  std::lock_guard lock(l.mu);
  if (l.sock) throw Error("forkserver: already running");
  auto [mine, theirs] = sys::stream_socketpair();
  const int program = sys::current_pid();
  const sys::SignalMask old = sys::block_all_signals();
  const int pid = [&] {
    try {
      return sys::fork_process();
    } catch (...) {
      sys::restore_signal_mask(old);
      throw;
    }
  }();
  if (pid == 0) {
    sys::child::close_fd(mine.release());
    ignore_the_programs_signals();
    if (sys::child::die_with_parent(program) != 0) sys::child::exit_now(127);
    serve(theirs.release(), runner);
  }
  sys::restore_signal_mask(old);
  l.sock = std::move(mine);
  l.server_pid = pid;
  l.owner_pid = program;
}

void run_forkserver(StartMessage& message, RoleRunner runner) noexcept {
  if (message.fds.size() != 1) sys::child::exit_now(127);
  // Not tied to the thread that restarted us (it may end long before the program): the server
  // ends at end of file on its socket, when the program is gone; its children die with it.
  if (sys::child::set_parent_death_signal(0) != 0) sys::child::exit_now(127);
  ignore_the_programs_signals();
  serve(message.fds[0].release(), runner);
}

int forkserver_pid() noexcept {
  Link& l = link();
  std::lock_guard lock(l.mu);
  return l.sock && l.owner_pid == sys::current_pid() ? l.server_pid : 0;
}

Child forkserver_child(Role role, std::span<const std::byte> payload, std::span<const int> fds) {
  if (fds.size() > sys::kMaxPassedFds) throw Error("forkserver: too many fds to pass");
  Link& l = link();
  std::lock_guard lock(l.mu);
  if (l.owner_pid == 0) {
    throw Error("the forkserver start method needs mproc::init(argc, argv) as the first "
                "statement of main: init starts the server while the program has one thread");
  }
  if (l.owner_pid != sys::current_pid()) {
    throw Error("forkserver: this process is a forked copy of the program that started the "
                "server; only that program may use it");
  }
  drain_records(l);  // notices a server killed since the last start
  if (!l.sock) restart_server(l);
  try {
    send_start_message(l.sock.get(), role, payload, fds);
  } catch (const SystemError&) {
    // Died between the check and the request: this start fails; the next one restarts it.
    forget_server(l);
    server_gone();
  }
  for (;;) {
    std::vector<sys::UniqueFd> got;
    const Record r = read_record(l, got);
    if (r.type == kFailed) detail::throw_errno("forkserver: fork", r.code);
    if (r.type != kStarted) continue;
    if (got.size() != 1) throw Error("forkserver: a start reply without its pidfd");
    Child child;
    child.pid = r.pid;
    child.pidfd = std::move(got[0]);
    l.running.insert(r.pid);
    return child;
  }
}

std::optional<int> forkserver_reap(int pid, bool block) {
  Link& l = link();
  std::lock_guard lock(l.mu);
  for (;;) {
    if (auto it = l.exited.find(pid); it != l.exited.end() && !it->second.empty()) {
      const int code = it->second.front();
      it->second.pop_front();
      if (it->second.empty()) l.exited.erase(it);
      return code;
    }
    if (!l.sock) return std::nullopt;
    if (!block && !sys::wait_readable(l.sock.get(), std::chrono::nanoseconds::zero())) {
      return std::nullopt;
    }
    std::vector<sys::UniqueFd> unused;
    try {
      (void)read_record(l, unused);
    } catch (const Error&) {
      // The server died: its children's statuses are recorded now (forget_server).
    }
  }
}

std::optional<int> reap_child(int pid, int pidfd, bool from_forkserver, bool block) {
  return from_forkserver ? forkserver_reap(pid, block) : sys::reap_pidfd(pidfd, block);
}

std::optional<int> reap_child_noexcept(int pid, int pidfd, bool from_forkserver) noexcept {
  try {
    return reap_child(pid, pidfd, from_forkserver, true);
  } catch (...) {
    return std::nullopt;
  }
}

}  // namespace mproc::launch
