#include "mpi/worker_rank.hpp"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "mpi/wire.hpp"
#include "mproc/codec.hpp"
#include "mproc/detail/pool_batch.hpp"
#include "mproc/pool.hpp"

namespace mproc::mpi_comm {
namespace {

// One item for the local pool: this process's addresses of the call's invoker and function
// (valid in the pool's workers, which are forks of this process) and the encoded argument.
struct BoundItem {
  std::uint64_t invoker = 0;
  std::uint64_t fn = 0;
  std::vector<std::byte> arg{};

  template <class Ar>
  void serialize(Ar& ar) {
    ar(invoker, fn, arg);
  }
};

class VectorSink final : public detail::ResultSink {
 public:
  std::span<std::byte> reserve(std::size_t n) override {
    bytes.resize(n);
    return bytes;
  }
  void commit(std::size_t n) override { bytes.resize(n); }
  void put_packed(const void* value, std::size_t size) override {
    bytes.resize(size);
    std::memcpy(bytes.data(), value, size);
  }
  std::vector<std::byte> bytes;
};

// A call's binding as this process answered it, by the binding message's bytes.
using Bindings = std::unordered_map<std::string, detail::RemoteBinding>;

std::vector<std::byte> run_bound_item(BoundItem item) {
  VectorSink sink;
  const auto invoker =
      reinterpret_cast<detail::ItemInvoker>(static_cast<std::uintptr_t>(item.invoker));
  invoker(static_cast<std::uintptr_t>(item.fn), item.arg, sink);
  return std::move(sink.bytes);
}

Failure describe(std::uint64_t item, const std::exception_ptr& error) {
  Failure f;
  f.item = item;
  try {
    std::rethrow_exception(error);
  } catch (const RemoteError& e) {
    f.kind = FailureKind::remote_error;
    f.type_name = e.type_name();
    f.what = e.remote_what();
    f.pid = e.pid();
  } catch (const WorkerCrashed& e) {
    f.kind = FailureKind::crashed;
    f.pid = e.pid();
    f.signal = e.signal();
    f.exit_code = e.exit_code();
    f.oom_killed = e.oom_killed();
    f.backtrace = e.backtrace();
    f.fault_address = e.fault_address();
    f.frames = e.frames();
  } catch (const TaskTimeout& e) {
    f.kind = FailureKind::timeout;
    f.pid = e.pid();
    f.timeout_ms = e.timeout().count();
  } catch (const DecodeError& e) {
    f.kind = FailureKind::decode_error;
    f.what = e.what();
  } catch (const std::exception& e) {
    f.kind = FailureKind::other;
    f.what = e.what();
  } catch (...) {
    f.kind = FailureKind::other;
    f.what = "an exception that is not a std::exception";
  }
  return f;
}

// Waits for the next message from rank 0. MPI's blocking receive spins on a core; this rank
// mostly waits while its local workers compute, so it polls with a growing sleep instead.
Arrival next_message() {
  auto nap = std::chrono::microseconds(10);
  for (;;) {
    if (auto a = probe(0)) return *a;
    std::this_thread::sleep_for(nap);
    nap = std::min<std::chrono::microseconds>(nap * 2, std::chrono::milliseconds(1));
  }
}

ResultMessage run_chunk(Pool& local, Bindings& bindings, ChunkMessage chunk) {
  ResultMessage out;
  out.id = chunk.id;
  const std::size_t count = chunk.stride != 0
                                ? chunk.bytes.size() / chunk.stride
                                : (chunk.offsets.empty() ? 0 : chunk.offsets.size() - 1);
  out.ends.reserve(count);
  detail::RemoteBinding binding{};
  try {
    std::string key(reinterpret_cast<const char*>(chunk.binding.data()), chunk.binding.size());
    auto it = bindings.find(key);
    if (it == bindings.end()) {
      const std::vector<std::byte> answer = detail::run_remote_task(chunk.binding);
      if (answer.size() != sizeof binding)
        throw DecodeError("mproc::mpi: a malformed binding answer");
      std::memcpy(&binding, answer.data(), sizeof binding);
      bindings.emplace(std::move(key), binding);
    } else {
      binding = it->second;
    }
  } catch (...) {
    // The call cannot be named here (another build of the executable?): every item says so.
    const std::exception_ptr error = std::current_exception();
    for (std::size_t i = 0; i < count; ++i) {
      out.failures.push_back(describe(i, error));
      out.ends.push_back(0);
    }
    return out;
  }
  std::vector<BoundItem> items(count);
  for (std::size_t i = 0; i < count; ++i) {
    const std::size_t b = chunk.stride != 0 ? i * chunk.stride : chunk.offsets[i];
    const std::size_t e = chunk.stride != 0 ? b + chunk.stride : chunk.offsets[i + 1];
    if (b > e || e > chunk.bytes.size()) throw DecodeError("mproc::mpi: a malformed chunk");
    items[i] =
        BoundItem{binding.invoker, binding.fn,
                  std::vector<std::byte>(chunk.bytes.begin() + static_cast<std::ptrdiff_t>(b),
                                         chunk.bytes.begin() + static_cast<std::ptrdiff_t>(e))};
  }
  auto results = local.try_map(&run_bound_item, items);
  for (std::size_t i = 0; i < results.size(); ++i) {
    if (results[i].ok()) {
      const std::vector<std::byte>& v = results[i].value();
      out.values.insert(out.values.end(), v.begin(), v.end());
    } else {
      out.failures.push_back(describe(i, results[i].error()));
    }
    out.ends.push_back(out.values.size());
  }
  return out;
}

}  // namespace

void run_worker_rank(const mpi::PoolOptions& options) {
  PoolOptions local_options;
  local_options.processes = std::max(1u, options.processes_per_rank);
  // fork: the workers share this process's addresses, which the bindings are.
  local_options.start_method = StartMethod::fork;
  local_options.max_tasks_per_child = options.max_tasks_per_child;
  local_options.task_timeout = options.task_timeout;
  local_options.memory_limit_bytes = options.memory_limit_bytes;
  local_options.retries = options.retries;
  Pool local(std::move(local_options));
  Bindings bindings;
  for (;;) {
    const Arrival a = next_message();
    std::vector<std::byte> bytes = receive(a);
    if (a.tag == kTagStop) break;
    if (a.tag != kTagChunk)
      throw Error("mproc::mpi: a worker rank got a message with tag " + std::to_string(a.tag));
    ResultMessage r = run_chunk(local, bindings, decode<ChunkMessage>(bytes));
    send(0, kTagResult, encode(r));
  }
}

}  // namespace mproc::mpi_comm
