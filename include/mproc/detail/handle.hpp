// mproc/detail/handle.hpp — handles that cross into a process that does not share our memory
// (a spawn or forkserver child): what Process and Pool use to pass a Queue, Lock, Value... made
// before they start (DESIGN.md 4: inherited with fork, passed with SCM_RIGHTS otherwise).
//
//   detail::ExportedHandle h = detail::export_handle(queue);      // here: bytes + borrowed fds
//   sys::send_fds(sock, h.fds);  /* and h.bytes, any way */       // the object stays ours
//   auto q = detail::import_handle<Queue<int>>(bytes, fds);       // there: the same queue
//
// Every handle type keeps its shared state in a memfd it owns (close-on-exec) or is an fd itself
// (Connection), so exporting is: a few bytes that describe the object, and its fds, borrowed —
// they stay owned by the exported object, which must outlive their sending. Importing maps the
// fds again (taking ownership of those it was given) and yields an object that is the same lock,
// queue, event, ... as the exporter's: what one process does, the other sees, including a holder's
// death (OwnerDied).
//
// The importer trusts nothing (RELIABILITY.md I3): each memfd must be sealed against shrinking
// and growing (F_SEAL_SHRINK | F_SEAL_GROW) and have exactly the size the bytes describe, the
// bytes must describe the type asked for (a Lock is not an RLock; a Value<int> is not a
// Value<double> of another size), and the count of fds must match. Anything else throws
// mproc::Error naming the type and the problem; the fds passed in are then closed.
//
// Exporting an object that has no shared state (a Queue moved from, a closed Connection, a
// Connection with received bytes still buffered, which the importer would never see) throws
// mproc::Error. Lock, Event, Semaphore, Condition, Barrier, Value, Array and SharedMemory are
// never empty (a moved-from one is a copy).
//
// Threads: export and import may run concurrently with any use of the object. Exporting does not
// copy the object's contents, and importing never initialises shared state (it is already live).
#pragma once

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "mproc/array.hpp"
#include "mproc/barrier.hpp"
#include "mproc/condition.hpp"
#include "mproc/detail/unique_fd.hpp"
#include "mproc/event.hpp"
#include "mproc/lock.hpp"
#include "mproc/pipe.hpp"
#include "mproc/queue.hpp"
#include "mproc/semaphore.hpp"
#include "mproc/shared_memory.hpp"
#include "mproc/value.hpp"

namespace mproc::detail {

// A handle as it travels: `bytes` describe the object (opaque, versioned, checked on import);
// `fds` are its file descriptors in order, BORROWED from the exported object (do not close them;
// keep the object alive until they are sent).
struct ExportedHandle {
  std::vector<std::byte> bytes;
  std::vector<int> fds;
};

// What the bytes say the object is. Never reordered: the value travels.
enum class HandleKind : std::uint32_t {
  lock = 1,
  rlock = 2,
  event = 3,
  semaphore = 4,  // Semaphore or BoundedSemaphore (the bound lives in the shared state)
  condition = 5,
  barrier = 6,
  value = 7,
  array = 8,
  queue = 9,  // Queue, SimpleQueue, JoinableQueue (one engine)
  shared_memory = 10,
  connection = 11,
};

// The handle types specialise this with
//   static ExportedHandle export_of(const T&);
//   static T import_from(std::span<const std::byte> bytes, std::span<UniqueFd> fds);
template <class T>
struct HandleTraits {};

// The types whose objects can be passed to a process that does not share our memory.
template <class T>
concept handle = requires(const T& object, std::span<const std::byte> bytes,
                          std::span<UniqueFd> fds) {
  { HandleTraits<T>::export_of(object) } -> std::same_as<ExportedHandle>;
  { HandleTraits<T>::import_from(bytes, fds) } -> std::same_as<T>;
};

// The description and the (borrowed) fds of `object`. Error when it has no shared state.
template <handle T>
[[nodiscard]] ExportedHandle export_handle(const T& object) {
  return HandleTraits<T>::export_of(object);
}

// The object that export_handle described, in this process. Takes ownership of every fd in
// `fds` (each is left empty, whether the import succeeds or throws); `fds` must be exactly the
// exported fds, in order. Error when the bytes or fds are not a T's (see the top of this file).
template <handle T>
[[nodiscard]] T import_handle(std::span<const std::byte> bytes, std::span<UniqueFd> fds) {
  return HandleTraits<T>::import_from(bytes, fds);
}

// --- the non-template work (src/handle/handle.cpp) ---

[[nodiscard]] ExportedHandle export_queue(const std::shared_ptr<QueueCore>& core);
[[nodiscard]] std::shared_ptr<QueueCore> import_queue(std::span<const std::byte> bytes,
                                                      std::span<UniqueFd> fds, const char* type);

// Value (count 1, kind value) and Array (kind array): the element layout travels and must match.
[[nodiscard]] ExportedHandle export_locked_segment(const LockedSegment& segment, HandleKind kind,
                                                   std::size_t elem_size, std::size_t align,
                                                   std::size_t count);
struct ImportedSegment {
  LockedSegment segment;
  std::size_t count;
};
[[nodiscard]] ImportedSegment import_locked_segment(std::span<const std::byte> bytes,
                                                    std::span<UniqueFd> fds, HandleKind kind,
                                                    std::size_t elem_size, std::size_t align,
                                                    const char* type);

[[nodiscard]] ExportedHandle export_connection(const ConnectionCore& core);
[[nodiscard]] ConnectionCore import_connection(std::span<const std::byte> bytes,
                                               std::span<UniqueFd> fds);

// --- the handle types ---

// Non-template types: defined beside each type (src/sync/*.cpp, src/shared_memory/).
#define MPROC_DETAIL_HANDLE_TRAITS(Type)                                                \
  template <>                                                                           \
  struct HandleTraits<Type> {                                                           \
    static ExportedHandle export_of(const Type& object);                                \
    static Type import_from(std::span<const std::byte> bytes, std::span<UniqueFd> fds); \
  }
MPROC_DETAIL_HANDLE_TRAITS(Lock);
MPROC_DETAIL_HANDLE_TRAITS(RLock);
MPROC_DETAIL_HANDLE_TRAITS(Event);
MPROC_DETAIL_HANDLE_TRAITS(Semaphore);
MPROC_DETAIL_HANDLE_TRAITS(BoundedSemaphore);
MPROC_DETAIL_HANDLE_TRAITS(Condition);
MPROC_DETAIL_HANDLE_TRAITS(Barrier);
MPROC_DETAIL_HANDLE_TRAITS(SharedMemory);
#undef MPROC_DETAIL_HANDLE_TRAITS

template <class T>
struct HandleTraits<Queue<T>> {
  static ExportedHandle export_of(const Queue<T>& q) { return export_queue(q.core_); }
  static Queue<T> import_from(std::span<const std::byte> bytes, std::span<UniqueFd> fds) {
    return Queue<T>(import_queue(bytes, fds, "Queue"));
  }
};

template <class T>
struct HandleTraits<SimpleQueue<T>> {
  static ExportedHandle export_of(const SimpleQueue<T>& q) {
    return export_queue(static_cast<const Queue<T>&>(q).core_);
  }
  static SimpleQueue<T> import_from(std::span<const std::byte> bytes, std::span<UniqueFd> fds) {
    return SimpleQueue<T>(import_queue(bytes, fds, "SimpleQueue"));
  }
};

template <class T>
struct HandleTraits<JoinableQueue<T>> {
  static ExportedHandle export_of(const JoinableQueue<T>& q) {
    return export_queue(static_cast<const Queue<T>&>(q).core_);
  }
  static JoinableQueue<T> import_from(std::span<const std::byte> bytes, std::span<UniqueFd> fds) {
    return JoinableQueue<T>(import_queue(bytes, fds, "JoinableQueue"));
  }
};

template <class T>
struct HandleTraits<Value<T>> {
  static ExportedHandle export_of(const Value<T>& v) {
    return export_locked_segment(v.segment_, HandleKind::value, sizeof(T), alignof(T), 1);
  }
  static Value<T> import_from(std::span<const std::byte> bytes, std::span<UniqueFd> fds) {
    return Value<T>(
        import_locked_segment(bytes, fds, HandleKind::value, sizeof(T), alignof(T), "Value")
            .segment);
  }
};

template <class T>
struct HandleTraits<Array<T>> {
  static ExportedHandle export_of(const Array<T>& a) {
    return export_locked_segment(a.segment_, HandleKind::array, sizeof(T), alignof(T), a.size());
  }
  static Array<T> import_from(std::span<const std::byte> bytes, std::span<UniqueFd> fds) {
    ImportedSegment s =
        import_locked_segment(bytes, fds, HandleKind::array, sizeof(T), alignof(T), "Array");
    return Array<T>(std::move(s.segment), s.count);
  }
};

template <class T>
struct HandleTraits<Connection<T>> {
  static ExportedHandle export_of(const Connection<T>& c) { return export_connection(c.core_); }
  static Connection<T> import_from(std::span<const std::byte> bytes, std::span<UniqueFd> fds) {
    return Connection<T>(import_connection(bytes, fds));
  }
};

}  // namespace mproc::detail
