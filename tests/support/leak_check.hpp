// Before/after snapshots of what a test may leak: children, fds, threads, /dev/shm entries.
#pragma once

#include <set>
#include <string>
#include <vector>

namespace mproc::test {

struct Snapshot {
  std::set<std::string> fds;      // "<fd> -> <target>"
  std::set<std::string> shm;      // /dev/shm names containing "mproc"
  std::size_t threads = 0;
  static Snapshot take();
};

// Direct children of this process (all threads), alive or zombie.
std::vector<int> children();

// Compares now with `before`; kills and reaps stray children, closes nothing (fds are reported),
// unlinks stray shm entries. Returns one line per leak.
std::vector<std::string> check_and_clean(const Snapshot& before);

}  // namespace mproc::test
