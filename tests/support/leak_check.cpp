#include "support/leak_check.hpp"

#include <dirent.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

namespace mproc::test {
namespace {

std::vector<std::string> list_dir(const char* path) {
  std::vector<std::string> out;
  if (DIR* d = ::opendir(path)) {
    while (dirent* e = ::readdir(d)) {
      if (e->d_name[0] != '.') out.emplace_back(e->d_name);
    }
    ::closedir(d);
  }
  return out;
}

std::set<std::string> open_fds() {
  std::set<std::string> out;
  for (const auto& name : list_dir("/proc/self/fd")) {
    char target[512] = {};
    std::string link = "/proc/self/fd/" + name;
    ssize_t n = ::readlink(link.c_str(), target, sizeof target - 1);
    if (n < 0) continue;  // the fd of the directory listing itself
    out.insert(name + " -> " + std::string(target, static_cast<std::size_t>(n)));
  }
  return out;
}

}  // namespace

std::string shm_prefix() { return "mproc-test-" + std::to_string(::getpid()) + "-"; }

Snapshot Snapshot::take() {
  Snapshot s;
  s.fds = open_fds();
  for (const auto& n : list_dir("/dev/shm")) {
    if (n.starts_with(shm_prefix())) s.shm.insert(n);
  }
  s.threads = list_dir("/proc/self/task").size();
  return s;
}

namespace {
std::vector<int>& permanent() {
  static std::vector<int> pids;
  return pids;
}

std::set<std::string>& accepted_fds() {
  static std::set<std::string> fds;
  return fds;
}
}  // namespace

void set_permanent_children(std::vector<int> pids) { permanent() = std::move(pids); }

void accept_open_fds() { accepted_fds() = open_fds(); }

std::vector<int> children() {
  std::vector<int> out;
  for (const auto& tid : list_dir("/proc/self/task")) {
    std::ifstream f("/proc/self/task/" + tid + "/children");
    int pid;
    while (f >> pid) {
      if (std::find(permanent().begin(), permanent().end(), pid) == permanent().end()) {
        out.push_back(pid);
      }
    }
  }
  return out;
}

std::vector<std::string> check_and_clean(const Snapshot& before) {
  std::vector<std::string> leaks;
  for (int pid : children()) {
    leaks.push_back("child process " + std::to_string(pid) + " still exists (killed and reaped)");
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
  }
  // Threads that were joined may take a moment to leave /proc/self/task; give them 1 s.
  Snapshot now = Snapshot::take();
  for (int i = 0; i < 100 && now.threads > before.threads; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    now = Snapshot::take();
  }
  if (now.threads > before.threads) {
    leaks.push_back(std::to_string(now.threads - before.threads) + " thread(s) still running");
  }
  for (const auto& fd : now.fds) {
    if (!before.fds.count(fd) && !accepted_fds().count(fd)) {
      leaks.push_back("fd " + fd + " left open");
    }
  }
  for (const auto& name : now.shm) {
    if (!before.shm.count(name)) {
      leaks.push_back("/dev/shm/" + name + " left behind (unlinked)");
      ::shm_unlink(("/" + name).c_str());
    }
  }
  return leaks;
}

}  // namespace mproc::test
