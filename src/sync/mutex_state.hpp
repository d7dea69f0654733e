// The shared state of a Lock or RLock (src/sync/lock.cpp), also read by Condition, whose lock
// travels with it when exported (mproc/detail/handle.hpp).
#pragma once

#include <string>
#include <utility>

#include "handle/wire.hpp"
#include "mproc/shared_memory.hpp"
#include "sync/shared_state.hpp"
#include "sys/robust_mutex.hpp"

namespace mproc::detail {

struct MutexState {
  explicit MutexState(bool r) : mutex(r), recursive(r) {}
  sys::RobustMutex mutex;
  const bool recursive;  // checked on import: a Lock is not an RLock
};

// The memory and state of a lock from reader's next fd and field; Error unless its recursion is
// `recursive`.
inline std::pair<SharedMemory, MutexState*> import_lock_state(HandleReader& reader,
                                                              bool recursive) {
  SharedMemory memory = reader.memory(sizeof(MutexState));
  MutexState* state = imported_state<MutexState>(memory);
  if (state->recursive != recursive) {
    reader.fail(std::string("the lock passed is ") + (state->recursive ? "an RLock" : "a Lock"));
  }
  return {std::move(memory), state};
}

}  // namespace mproc::detail
