// Before/after snapshots of what a test may leak: children, fds, threads, /dev/shm entries.
#pragma once

#include <set>
#include <string>
#include <vector>

namespace mproc::test {

struct Snapshot {
  std::set<std::string> fds;      // "<fd> -> <target>"
  std::set<std::string> shm;      // /dev/shm names starting with shm_prefix()
  std::size_t threads = 0;
  static Snapshot take();
};

// "mproc-test-<pid>-": name every named segment a test makes with this prefix (shm_name), so the
// leak check sees this binary's segments and not those of tests running beside it.
std::string shm_prefix();
inline std::string shm_name(const std::string& suffix) { return "/" + shm_prefix() + suffix; }

// Direct children of this process (all threads), alive or zombie, except the permanent ones.
std::vector<int> children();

// Children that live as long as the test binary and are not leaks: the forkserver that
// mproc::init starts. The test main records them right after init.
void set_permanent_children(std::vector<int> pids);

// The fds open now are not leaks, for a test that replaces a program-wide resource on purpose
// (the forkserver's socket, when it restarts the server).
void accept_open_fds();

// Compares now with `before`; kills and reaps stray children, closes nothing (fds are reported),
// unlinks stray shm entries. Returns one line per leak.
std::vector<std::string> check_and_clean(const Snapshot& before);

}  // namespace mproc::test
