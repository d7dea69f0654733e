// mproc/mproc.hpp — the umbrella header: Python's multiprocessing, for C++20.
// Includes every public header; each concept also has its own header beside this one.
#pragma once

#include "mproc/array.hpp"
#include "mproc/barrier.hpp"
#include "mproc/codec.hpp"
#include "mproc/condition.hpp"
#include "mproc/error.hpp"
#include "mproc/event.hpp"
#include "mproc/initializer.hpp"
#include "mproc/lock.hpp"
#include "mproc/pipe.hpp"
#include "mproc/pool.hpp"
#include "mproc/process.hpp"
#include "mproc/progress.hpp"
#include "mproc/queue.hpp"
#include "mproc/sandbox.hpp"
#include "mproc/semaphore.hpp"
#include "mproc/shared_memory.hpp"
#include "mproc/start_method.hpp"
#include "mproc/value.hpp"
#include "mproc/wait.hpp"
#include "mproc/worker_state.hpp"

