// What rank 0 and the worker ranks say to each other (encoded with the codec; both ends run the
// same executable). kTagChunk carries a ChunkMessage, kTagResult a ResultMessage, kTagStop
// nothing.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace mproc::mpi_comm {

// Items [first, first + count) of one call, and the call itself.
struct ChunkMessage {
  std::uint64_t id = 0;
  // The batch's binding (pool_batch.hpp pool_bind_message): run on the worker rank, it answers
  // that process's addresses of the call's invoker and function.
  std::vector<std::byte> binding{};
  std::uint64_t stride = 0;  // > 0: packed items of this size; else offsets delimit them
  std::vector<std::byte> bytes{};
  std::vector<std::uint64_t> offsets{};  // count + 1 entries when stride == 0

  template <class Ar>
  void serialize(Ar& ar) {
    ar(id, binding, stride, bytes, offsets);
  }
};

enum class FailureKind : std::uint8_t { remote_error, crashed, timeout, decode_error, other };

// One item's error, with the fields its exception is rebuilt from on rank 0.
struct Failure {
  std::uint64_t item = 0;  // position in the chunk
  FailureKind kind = FailureKind::other;
  std::string type_name{};
  std::string what{};
  std::int32_t pid = 0;
  std::optional<int> signal{};
  std::optional<int> exit_code{};
  bool oom_killed = false;
  std::string backtrace{};
  std::uint64_t fault_address = 0;
  std::vector<std::string> frames{};
  std::int64_t timeout_ms = 0;

  template <class Ar>
  void serialize(Ar& ar) {
    ar(item, kind, type_name, what, pid, signal, exit_code, oom_killed, backtrace, fault_address,
       frames, timeout_ms);
  }
};

// The chunk's results: item i's encoded value is values[ends[i-1], ends[i]) unless a Failure
// names it.
struct ResultMessage {
  std::uint64_t id = 0;
  std::vector<std::byte> values{};
  std::vector<std::uint64_t> ends{};
  std::vector<Failure> failures{};

  template <class Ar>
  void serialize(Ar& ar) {
    ar(id, values, ends, failures);
  }
};

}  // namespace mproc::mpi_comm
