// A small RAII layer over MPI's C API: the only file that includes <mpi.h> for mproc::mpi
// (everything MPI that the driver and the worker ranks need: init/finalize, tagged byte
// messages, non-blocking sends that own their bytes, a probe for "has a message arrived?").
// Every call goes through check(), which throws mproc::Error naming the call and MPI's text.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <span>
#include <vector>

namespace mproc::mpi_comm {

enum Tag : int { kTagChunk = 1, kTagResult = 2, kTagStop = 3 };

// MPI_Init_thread (MPI_THREAD_SERIALIZED: the driver's thread makes the calls, the thread that
// initialised finalizes) in the constructor; MPI_Finalize in finalize() or the destructor.
class Environment {
 public:
  Environment(int& argc, char**& argv);
  ~Environment();
  Environment(const Environment&) = delete;
  Environment& operator=(const Environment&) = delete;
  void finalize() noexcept;  // idempotent
  [[nodiscard]] int rank() const noexcept { return rank_; }
  [[nodiscard]] int size() const noexcept { return size_; }

 private:
  int rank_ = 0;
  int size_ = 1;
  bool finalized_ = false;
};

// A message that arrived and was not received yet.
struct Arrival {
  int source;
  int tag;
  std::size_t size;
};

// The next message from anyone (or from `source`) with any tag, without waiting.
[[nodiscard]] std::optional<Arrival> probe(int source = -1);
// Receives the message probe() reported.
[[nodiscard]] std::vector<std::byte> receive(const Arrival& a);
// Blocking send (returns once the bytes may be reused).
void send(int dest, int tag, std::span<const std::byte> bytes);

// Non-blocking sends whose bytes live here until they complete.
class Sends {
 public:
  Sends();
  ~Sends();  // waits for the sends still under way
  Sends(const Sends&) = delete;
  Sends& operator=(const Sends&) = delete;
  void start(int dest, int tag, std::vector<std::byte> bytes);
  // Forgets the sends that completed; returns how many are still under way.
  std::size_t reap();
  void wait_all();

 private:
  struct Pending;
  std::deque<Pending> pending_;
};

}  // namespace mproc::mpi_comm
