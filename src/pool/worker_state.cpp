#include "pool/worker_state.hpp"

#include <string>
#include <typeinfo>
#include <utility>

#include "error/exception_info.hpp"
#include "mproc/error.hpp"
#include "mproc/worker_state.hpp"

namespace mproc {
namespace {

struct WorkerContext {
  int id = -1;             // -1: not a pool worker
  bool has_state = false;  // the pool has a worker_state
  std::unique_ptr<detail::KeptValue> state{};
};

WorkerContext& context() noexcept {
  static WorkerContext c;  // a worker exits with _exit: never destroyed there
  return c;
}

}  // namespace

int worker_id() noexcept { return context().id; }

bool has_worker_state() noexcept { return context().state != nullptr; }

namespace detail {

KeptValue& current_worker_state(const std::type_info& wanted) {
  WorkerContext& c = context();
  if (c.id < 0) {
    throw Error("mproc::worker_state<" + demangle(wanted.name()) +
                ">(): called outside a pool worker (it is for tasks a Pool runs)");
  }
  if (!c.state) {
    throw Error("mproc::worker_state<" + demangle(wanted.name()) + ">(): this worker's pool " +
                (c.has_state ? "is still building its worker_state (called from the initializer "
                               "or the factory)"
                             : "has no worker_state (set PoolOptions::worker_state)"));
  }
  if (c.state->type() != wanted) {
    throw Error("mproc::worker_state<" + demangle(wanted.name()) +
                ">(): the pool's worker_state factory returns " + demangle(c.state->type().name()) +
                ", not " + demangle(wanted.name()));
  }
  return *c.state;
}

}  // namespace detail

namespace pool {

void enter_worker(int id, bool has_state) noexcept {
  WorkerContext& c = context();
  detail::worker_state_ref() = {};
  (void)c.state.release();  // NOLINT(bugprone-unused-return-value): another worker's, inherited
  c.id = id;
  c.has_state = has_state;
}

void install_worker_state(std::unique_ptr<detail::KeptValue> state) noexcept {
  WorkerContext& c = context();
  c.state = std::move(state);
  detail::worker_state_ref() =
      c.state ? detail::WorkerStateRef{c.state.get(), &c.state->type()} : detail::WorkerStateRef{};
}

void leave_worker() noexcept {
  WorkerContext& c = context();
  detail::worker_state_ref() = {};
  try {
    c.state.reset();
  } catch (...) {  // a throwing destructor: nothing left to report it to
  }
}

}  // namespace pool
}  // namespace mproc
