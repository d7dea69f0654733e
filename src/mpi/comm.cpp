#include "mpi/comm.hpp"

// The C API only (no MPI C++ bindings: they are deprecated and pull in a second ABI).
#define OMPI_SKIP_MPICXX 1
#define MPICH_SKIP_MPICXX 1
#include <mpi.h>

#include <climits>
#include <string>
#include <utility>

#include "mproc/error.hpp"

namespace mproc::mpi_comm {
namespace {

void check(int rc, const char* call) {
  if (rc == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  if (MPI_Error_string(rc, text, &len) != MPI_SUCCESS) len = 0;
  throw Error(std::string(call) + ": " +
              (len > 0 ? std::string(text, len) : "MPI error " + std::to_string(rc)));
}

int count_of(std::size_t n) {
  if (n > static_cast<std::size_t>(INT_MAX)) {
    throw Error("mproc::mpi: a message of " + std::to_string(n) +
                " bytes is larger than MPI's int count allows (2 GiB)");
  }
  return static_cast<int>(n);
}

}  // namespace

Environment::Environment(int& argc, char**& argv) {
  int provided = 0;
  check(MPI_Init_thread(&argc, &argv, MPI_THREAD_SERIALIZED, &provided), "MPI_Init_thread");
  if (provided < MPI_THREAD_SERIALIZED) {
    finalize();
    throw Error("mproc::mpi: this MPI library does not provide MPI_THREAD_SERIALIZED");
  }
  check(MPI_Comm_rank(MPI_COMM_WORLD, &rank_), "MPI_Comm_rank");
  check(MPI_Comm_size(MPI_COMM_WORLD, &size_), "MPI_Comm_size");
}

Environment::~Environment() { finalize(); }

void Environment::finalize() noexcept {
  if (finalized_) return;
  finalized_ = true;
  MPI_Finalize();
}

std::optional<Arrival> probe(int source) {
  int flag = 0;
  MPI_Status st;
  check(MPI_Iprobe(source < 0 ? MPI_ANY_SOURCE : source, MPI_ANY_TAG, MPI_COMM_WORLD, &flag, &st),
        "MPI_Iprobe");
  if (flag == 0) return std::nullopt;
  int count = 0;
  check(MPI_Get_count(&st, MPI_BYTE, &count), "MPI_Get_count");
  return Arrival{st.MPI_SOURCE, st.MPI_TAG, static_cast<std::size_t>(count)};
}

std::vector<std::byte> receive(const Arrival& a) {
  std::vector<std::byte> bytes(a.size);
  check(MPI_Recv(bytes.data(), count_of(a.size), MPI_BYTE, a.source, a.tag, MPI_COMM_WORLD,
                 MPI_STATUS_IGNORE),
        "MPI_Recv");
  return bytes;
}

void send(int dest, int tag, std::span<const std::byte> bytes) {
  check(MPI_Send(bytes.data(), count_of(bytes.size()), MPI_BYTE, dest, tag, MPI_COMM_WORLD),
        "MPI_Send");
}

struct Sends::Pending {
  std::vector<std::byte> bytes;
  MPI_Request request = MPI_REQUEST_NULL;
};

Sends::Sends() = default;

Sends::~Sends() {
  try {
    wait_all();
  } catch (...) {  // MPI's default handler aborts before this; a destructor never throws
  }
}

void Sends::start(int dest, int tag, std::vector<std::byte> bytes) {
  Pending& p = pending_.emplace_back();
  p.bytes = std::move(bytes);
  try {
    check(MPI_Isend(p.bytes.data(), count_of(p.bytes.size()), MPI_BYTE, dest, tag, MPI_COMM_WORLD,
                    &p.request),
          "MPI_Isend");
  } catch (...) {
    pending_.pop_back();
    throw;
  }
}

std::size_t Sends::reap() {
  while (!pending_.empty()) {
    int done = 0;
    check(MPI_Test(&pending_.front().request, &done, MPI_STATUS_IGNORE), "MPI_Test");
    if (done == 0) break;
    pending_.pop_front();
  }
  return pending_.size();
}

void Sends::wait_all() {
  while (!pending_.empty()) {
    check(MPI_Wait(&pending_.front().request, MPI_STATUS_IGNORE), "MPI_Wait");
    pending_.pop_front();
  }
}

}  // namespace mproc::mpi_comm
