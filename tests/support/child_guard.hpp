// ChildGuard: for tests that fork by hand. Whatever happens to the test, the children it holds
// are SIGKILLed and reaped when it goes out of scope.
#pragma once

#include <signal.h>
#include <sys/wait.h>

#include <vector>

namespace mproc::test {

class ChildGuard {
 public:
  ChildGuard() = default;
  ChildGuard(const ChildGuard&) = delete;
  ChildGuard& operator=(const ChildGuard&) = delete;
  ~ChildGuard() {
    for (int pid : pids_) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
  }
  // Takes responsibility for pid (no-op for pid <= 0).
  void adopt(int pid) {
    if (pid > 0) pids_.push_back(pid);
  }
  // Reaps pid now and returns its wait status; it is no longer guarded.
  int reap(int pid) {
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    std::erase(pids_, pid);
    return status;
  }

 private:
  std::vector<int> pids_;
};

}  // namespace mproc::test
