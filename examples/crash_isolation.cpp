// crash_isolation: a staged demonstration of what the pool survives. The faults are deliberate.
//
// 20 inputs go through Pool::try_map with a 1 s task_timeout on 2 workers:
//   inputs 3 and 11 write through a null pointer (SIGSEGV) in write_through_null(),
//   input 7 spins forever, input 15 throws std::runtime_error; every other input returns x * x.
// try_map reports each failure by index (WorkerCrashed, TaskTimeout, RemoteError), the other 16
// items succeed, the dead and stuck workers are replaced, and a follow-up map of 100 items runs on
// the same pool. The program prints a table and exits 0 only if exactly these outcomes happened.
#include <mproc/mproc.hpp>

#include <chrono>
#include <csignal>
#include <cstddef>
#include <cstdio>
#include <exception>
#include <numeric>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

using namespace std::chrono_literals;

// A deliberate crash: keep UBSan (make test-asan) from reporting it instead of letting it happen,
// and keep it a frame of its own so the crash report can name it. Pointer and pointee are both
// volatile: GCC -O2 deletes a store through a null it can see, and then the call too.
__attribute__((noinline, no_sanitize("undefined"))) void write_through_null(int x) {
  volatile int* volatile p = nullptr;
  *p = x;
}

__attribute__((noinline)) void spin_forever() {
  volatile bool forever = true;
  while (forever) {
  }
}

int task(int x) {
  if (x == 3 || x == 11) write_through_null(x);
  if (x == 7) spin_forever();
  if (x == 15) throw std::runtime_error("input 15 is not allowed");
  return x * x;
}

int square(int x) { return x * x; }

// The function the crash report names: the first frame that mentions one of ours, else frame #0.
std::string crashed_in(const mproc::WorkerCrashed& e) {
  for (const auto& frame : e.frames()) {
    if (frame.find("write_through_null") != std::string::npos) return "write_through_null";
  }
  return e.frames().empty() ? "<no frames collected>" : e.frames().front();
}

std::string signal_name(int sig) {
  const char* abbrev = sigabbrev_np(sig);
  return abbrev != nullptr ? std::string("SIG") + abbrev : "signal " + std::to_string(sig);
}

}  // namespace

int main() {
  const auto t0 = std::chrono::steady_clock::now();
  mproc::Pool pool(mproc::PoolOptions{.processes = 2, .task_timeout = 1s});

  std::vector<int> inputs(20);
  std::iota(inputs.begin(), inputs.end(), 0);
  auto results = pool.try_map(task, inputs);

  std::printf("A staged demonstration: inputs 3 and 11 segfault, 7 hangs, 15 throws.\n\n");
  std::printf("%5s  %s\n", "index", "outcome");
  bool as_expected = results.size() == inputs.size();
  std::string crash_report;
  for (std::size_t i = 0; i < results.size(); ++i) {
    std::string outcome;
    std::string expected;
    if (i == 3 || i == 11) {
      expected = "WorkerCrashed: SIGSEGV in write_through_null";
    } else if (i == 7) {
      expected = "TaskTimeout";
    } else if (i == 15) {
      expected = "RemoteError: std::runtime_error: input 15 is not allowed";
    } else {
      expected = "ok " + std::to_string(i * i);
    }
    if (results[i].ok()) {
      outcome = "ok " + std::to_string(results[i].value());
    } else {
      try {
        std::rethrow_exception(results[i].error());
      } catch (const mproc::WorkerCrashed& e) {
        outcome = "WorkerCrashed: ";
        outcome += e.signal() ? signal_name(*e.signal()) : "exit";
        outcome += " in " + crashed_in(e);
        if (crash_report.empty()) crash_report = e.what();
        as_expected = as_expected && e.index() == i;
      } catch (const mproc::TaskTimeout& e) {
        outcome = "TaskTimeout";
        as_expected = as_expected && e.index() == i;
      } catch (const mproc::RemoteError& e) {
        outcome = "RemoteError: " + e.type_name() + ": " + e.remote_what();
        as_expected = as_expected && e.index() == i;
      } catch (const std::exception& e) {
        outcome = std::string("unexpected error: ") + e.what();
      }
    }
    const bool match = outcome == expected;
    as_expected = as_expected && match;
    std::printf("%5zu  %s%s\n", i, outcome.c_str(), match ? "" : "   <-- NOT AS EXPECTED");
  }

  std::printf("\nThe first crash, as WorkerCrashed::what() reports it:\n%s\n",
              crash_report.c_str());

  std::vector<int> more(100);
  std::iota(more.begin(), more.end(), 0);
  const std::vector<int> squares = pool.map(square, more);
  bool follow_up_ok = squares.size() == more.size();
  for (std::size_t i = 0; follow_up_ok && i < squares.size(); ++i) {
    follow_up_ok = squares[i] == static_cast<int>(i * i);
  }
  // Counted after the follow-up map: a replacement worker may still be starting when try_map
  // returns.
  const std::size_t alive = pool.worker_pids().size();
  as_expected = as_expected && alive == 2 && follow_up_ok;

  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("\npool intact: %zu workers alive; a follow-up map of 100 items %s\n", alive,
              follow_up_ok ? "succeeded" : "FAILED");
  std::printf("%s (%.1f s)\n", as_expected ? "crash_isolation ok" : "crash_isolation FAILED",
              seconds);
  return as_expected ? 0 : 1;
}
