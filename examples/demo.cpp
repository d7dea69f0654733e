// A tour of mproc (run by make test): a Process, a Pipe and a Pool, and what mproc is for — a
// crash in a child costs the child only.
//
// 1. A child process receives lines of text over a Pipe, counts words, and sends back a
//    std::map<std::string, int> (encoded by mproc's codec; no pickling, no manual framing).
// 2. A second child dereferences a null pointer. It dies of SIGSEGV; the parent sees
//    exitcode() == -11 and carries on.
// 3. A Pool maps a function over 1,000 inputs; the one that segfaults costs its own item only
//    (a WorkerCrashed naming the signal and the function), the worker is replaced, and the other
//    999 results come back in order.
#include <mproc/mproc.hpp>

#include <csignal>
#include <cstdio>
#include <map>
#include <ranges>
#include <sstream>
#include <string>
#include <vector>

namespace {

using Counts = std::map<std::string, int>;

void count_words(mproc::Connection<std::vector<std::string>>& lines_in,
                 mproc::Connection<Counts>& counts_out) {
  Counts counts;
  for (const auto& line : lines_in.recv()) {
    std::istringstream words(line);
    for (std::string w; words >> w;) ++counts[w];
  }
  counts_out.send(counts);
}

// A deliberate crash: keep UBSan (make test-asan) from reporting it instead of letting it happen.
__attribute__((no_sanitize("undefined"))) void crash() {
  volatile int* volatile p = nullptr;
  *p = 42;  // SIGSEGV: the child dies, the parent does not
}

// Item 500 takes its worker down.
__attribute__((noinline, no_sanitize("undefined"))) int checksum(int x) {
  if (x == 500) crash();
  return x * 7 % 13;
}

}  // namespace

int main() {
  auto [lines_rx, lines_tx] = mproc::Pipe<std::vector<std::string>>(false);
  auto [counts_rx, counts_tx] = mproc::Pipe<Counts>(false);

  mproc::Process counter(mproc::ProcessOptions{.name = "word-counter"}, count_words,
                         std::ref(lines_rx), std::ref(counts_tx));
  counter.start();
  lines_tx.send({"the quick brown fox", "jumps over the lazy dog", "the end"});
  Counts counts = counts_rx.recv();
  counter.join();
  std::printf("1. %s (pid %d) counted %zu distinct words over a Pipe; \"the\" appears %d times; "
              "exit code %d\n",
              counter.name().c_str(), counter.pid(), counts.size(), counts["the"],
              counter.exitcode().value_or(-999));

  mproc::Process crasher(mproc::ProcessOptions{.name = "crasher"}, crash);
  crasher.start();
  crasher.join();
  int code = crasher.exitcode().value_or(0);
  std::printf("2. %s (pid %d) dereferenced a null pointer: exit code %d (%s); this process is "
              "unharmed\n",
              crasher.name().c_str(), crasher.pid(), code,
              code < 0 ? sigdescr_np(-code) : "no signal");
  mproc::Pool pool(2);
  auto results = pool.try_map(checksum, std::views::iota(0, 1000));
  int good = 0;
  std::string crash_report;
  for (auto& r : results) {
    if (r.ok()) {
      ++good;
    } else {
      try {
        std::rethrow_exception(r.error());
      } catch (const mproc::WorkerCrashed& e) {
        crash_report = e.what();
      }
    }
  }
  std::printf("3. Pool(2).try_map over 1000 inputs: %d results, 1 crash; the pool carries on with "
              "%zu workers. The crash, as reported:\n%s\n",
              good, pool.worker_pids().size(), crash_report.c_str());
  bool ok = counts["the"] == 3 && counter.exitcode() == 0 && code == -SIGSEGV && good == 999 &&
            crash_report.find("SIGSEGV") != std::string::npos;
  std::printf("%s\n", ok ? "demo ok" : "demo FAILED");
  return ok ? 0 : 1;
}
