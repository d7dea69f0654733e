// mproc::init: the start-up hook of the spawn start method (API.md "Start methods and
// start-up"). A spawned child is this very program run again; init() recognises it (by the
// start message launch::spawn_child sent) and runs its task instead of returning to main.
#include <cstddef>
#include <cstdlib>
#include <optional>
#include <span>
#include <string>
#include <utility>

#include "launch/forkserver.hpp"
#include "launch/spawn.hpp"
#include "mproc/error.hpp"
#include "mproc/start_method.hpp"
#include "pool/spawned_worker.hpp"
#include "process/process_role.hpp"
#include "sys/cpu.hpp"
#include "sys/rlimit.hpp"

namespace mproc {
namespace {

// Threads of this process, from /proc/self/status; nullopt if it cannot be read.
std::optional<long> thread_count() {
  const auto status = sys::read_text_file("/proc/self/status");
  if (!status) return std::nullopt;
  const auto at = status->find("\nThreads:");
  if (at == std::string::npos) return std::nullopt;
  return std::strtol(status->c_str() + at + 9, nullptr, 10);
}

#if defined(__SANITIZE_THREAD__)
constexpr long kOwnThreads = 2;  // ThreadSanitizer's runtime runs a background thread
#else
constexpr long kOwnThreads = 1;
#endif

// A spawned or forkserver child becomes what its start message says. Never returns.
void run_role(launch::StartMessage& message) noexcept {
  switch (message.role) {
    case launch::Role::process:
      detail::run_spawned_process(message.payload, message.fds);
    case launch::Role::pool_worker:
      pool::run_spawned_worker(message.payload, std::move(message.fds));
    case launch::Role::forkserver:
      launch::run_forkserver(message, &run_role);
  }
  std::_Exit(127);  // a role this build does not know: nothing to run
}

}  // namespace

void init(int argc, char** argv) {
  if (auto message = launch::take_start_message()) run_role(*message);  // a spawned child
  if (launch::have_arguments()) {
    throw Error("mproc::init: called twice; call it once, first thing in main");
  }
  if (const auto threads = thread_count(); threads && *threads > kOwnThreads) {
    throw Error("mproc::init: this process already runs " + std::to_string(*threads) +
                " threads; call init first thing in main, before anything starts a thread");
  }
  (void)launch::save_arguments(argc, argv);
  // Each Lock, Event, Queue... keeps a memfd: let the program have as many as the system allows.
  (void)sys::raise_open_file_limit();
  // While this process has one thread: the forkserver's children are forked from this state.
  launch::start_forkserver(&run_role);
  // As Python 3.14: with a server at hand, new processes no longer fork a threaded program.
  set_start_method(StartMethod::forkserver);
}

bool initialized() noexcept { return launch::have_arguments(); }

}  // namespace mproc
