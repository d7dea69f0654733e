// export_handle / import_handle for the types that wrap an untyped engine: Queue (QueueCore),
// Value and Array (LockedSegment), Connection (ConnectionCore). The non-template types do theirs
// beside their shared state (src/sync/*.cpp, src/shared_memory/shared_memory.cpp).
#include "mproc/detail/handle.hpp"

#include <string>
#include <utility>

#include "handle/wire.hpp"
#include "mproc/error.hpp"
#include "sys/socket.hpp"

namespace mproc::detail {

ExportedHandle export_queue(const std::shared_ptr<QueueCore>& core) {
  if (!core) export_error("Queue", "the queue was moved from: it has no shared state");
  return HandleWriter(HandleKind::queue).memory(core->memory()).finish();
}

std::shared_ptr<QueueCore> import_queue(std::span<const std::byte> bytes, std::span<UniqueFd> fds,
                                        const char* type) {
  HandleReader reader(bytes, fds, HandleKind::queue, type);
  SharedMemory memory = reader.memory();
  reader.finish();
  return std::make_shared<QueueCore>(std::move(memory));
}

ExportedHandle export_locked_segment(const LockedSegment& segment, HandleKind kind,
                                     std::size_t elem_size, std::size_t align, std::size_t count) {
  return HandleWriter(kind).u64(elem_size).u64(align).u64(count).memory(segment.memory()).finish();
}

ImportedSegment import_locked_segment(std::span<const std::byte> bytes, std::span<UniqueFd> fds,
                                      HandleKind kind, std::size_t elem_size, std::size_t align,
                                      const char* type) {
  HandleReader reader(bytes, fds, kind, type);
  const std::uint64_t their_size = reader.u64();
  const std::uint64_t their_align = reader.u64();
  const std::uint64_t count = reader.u64();
  if (their_size != elem_size || their_align != align) {
    reader.fail("the exported elements take " + std::to_string(their_size) + " bytes aligned to " +
                std::to_string(their_align) + ", this type's " + std::to_string(elem_size) +
                " aligned to " + std::to_string(align));
  }
  if (kind == HandleKind::value && count != 1) reader.fail("the bytes are damaged");
  std::size_t total = 0;
  try {
    total = LockedSegment::total_size(count, elem_size, align);
  } catch (const Error&) {
    reader.fail("the bytes are damaged (" + std::to_string(count) + " elements)");
  }
  SharedMemory memory = reader.memory(total);
  reader.finish();
  return {LockedSegment(std::move(memory), align), static_cast<std::size_t>(count)};
}

ExportedHandle export_connection(const ConnectionCore& core) {
  if (core.closed()) export_error("Connection", "the connection is closed (or was moved from)");
  if (core.has_buffered_data()) {
    export_error("Connection",
                 "the connection holds received bytes not yet read (or is broken); the other "
                 "process would never see them");
  }
  if (core.send_broken()) {
    export_error("Connection", "the connection is broken (a send failed part-way through)");
  }
  return HandleWriter(HandleKind::connection)
      .u64(core.readable() ? 1 : 0)
      .u64(core.writable() ? 1 : 0)
      .u64(core.max_message_size())
      .fd(core.fileno())
      .finish();
}

ConnectionCore import_connection(std::span<const std::byte> bytes, std::span<UniqueFd> fds) {
  HandleReader reader(bytes, fds, HandleKind::connection, "Connection");
  const std::uint64_t readable = reader.u64();
  const std::uint64_t writable = reader.u64();
  const std::uint64_t max = reader.u64();
  if (readable > 1 || writable > 1 || max == 0) reader.fail("the bytes are damaged");
  UniqueFd fd = reader.fd();
  reader.finish();
  if (!sys::is_socket(fd.get())) reader.fail("the fd passed is not a socket");
  return ConnectionCore(fd.release(), readable == 1, writable == 1, static_cast<std::size_t>(max));
}

}  // namespace mproc::detail
