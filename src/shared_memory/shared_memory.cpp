#include "mproc/shared_memory.hpp"

#include <string>
#include <utility>

#include "handle/wire.hpp"
#include "mproc/detail/handle.hpp"
#include "mproc/error.hpp"
#include "shared_memory/shm_access.hpp"
#include "sys/memory.hpp"
#include "sys/shm.hpp"
#include "sys/unique_fd.hpp"

namespace mproc {

namespace detail {
struct ShmSegment {
  sys::UniqueFd fd;  // kept for handing the segment to other processes (ShmAccess::fd)
  sys::SharedMapping mapping;
  std::string name;  // as given; empty when anonymous
};
}  // namespace detail

namespace {

void check_size(std::size_t size) {
  if (size == 0) throw Error("SharedMemory::create: size must be positive");
}

// "name" or "/name" -> "/name"; Error for anything shm_open would misread.
std::string shm_path(std::string_view name) {
  std::string path(name);
  if (path.empty() || path.front() != '/') path.insert(path.begin(), '/');
  if (path.size() == 1 || path.size() > 256 || path.find('/', 1) != std::string::npos ||
      path.find('\0') != std::string::npos || path == "/." || path == "/..") {
    throw Error("SharedMemory: invalid name \"" + std::string(name) +
                "\": one path component of at most 255 characters, optionally after a '/'");
  }
  return path;
}

std::shared_ptr<const detail::ShmSegment> map_segment(sys::UniqueFd fd, std::size_t size,
                                                      std::string name) {
  sys::SharedMapping mapping(fd.get(), size);
  return std::make_shared<const detail::ShmSegment>(
      detail::ShmSegment{std::move(fd), std::move(mapping), std::move(name)});
}

}  // namespace

SharedMemory::SharedMemory(std::shared_ptr<const detail::ShmSegment> segment) noexcept
    : segment_(std::move(segment)),
      data_(static_cast<std::byte*>(segment_->mapping.data())),
      size_(segment_->mapping.size()) {}

SharedMemory SharedMemory::create(std::size_t size) {
  check_size(size);
  return SharedMemory(map_segment(sys::memfd_of_size("mproc-shm", size), size, {}));
}

SharedMemory SharedMemory::create(std::size_t size, std::string_view name) {
  check_size(size);
  const std::string path = shm_path(name);
  sys::UniqueFd fd = sys::shm_create(path, size);
  try {
    return SharedMemory(map_segment(std::move(fd), size, std::string(name)));
  } catch (...) {
    sys::shm_discard(path);  // created here and unusable: leave no entry behind
    throw;
  }
}

SharedMemory SharedMemory::attach(std::string_view name) {
  const std::string path = shm_path(name);
  sys::UniqueFd fd = sys::shm_attach(path);
  const std::size_t size = sys::file_size(fd.get());
  if (size == 0) {
    throw Error("SharedMemory::attach(\"" + path + "\"): the segment is empty (not yet sized?)");
  }
  return SharedMemory(map_segment(std::move(fd), size, std::string(name)));
}

SharedMemory detail::ShmAccess::anonymous(std::size_t size, const char* label) {
  return SharedMemory(map_segment(sys::memfd_of_size(label, size), size, {}));
}

int detail::ShmAccess::fd(const SharedMemory& memory) noexcept { return memory.segment_->fd.get(); }

SharedMemory detail::ShmAccess::adopt(sys::UniqueFd fd, std::size_t size, std::string name,
                                      const std::string& what) {
  // I3: an anonymous segment is only trusted when no holder of its fd can change its size under
  // our mapping (a shrink would turn our accesses into SIGBUS).
  if (name.empty() && !sys::size_sealed(fd.get())) {
    throw Error(what +
                ": the memory passed is not a memfd sealed against shrinking and growing "
                "(F_SEAL_SHRINK | F_SEAL_GROW); refused");
  }
  const std::size_t actual = sys::file_size(fd.get());
  if (actual != size || size == 0) {
    throw Error(what + ": the memory passed holds " + std::to_string(actual) +
                " bytes where its description says " + std::to_string(size) + "; refused");
  }
  return SharedMemory(map_segment(std::move(fd), size, std::move(name)));
}

const std::string& SharedMemory::name() const noexcept { return segment_->name; }

void SharedMemory::unlink() const {
  if (segment_->name.empty()) return;
  sys::shm_remove(shm_path(segment_->name));
}

namespace detail {

// The name travels with the fd: the importer need not open it (it may be unlinked already), but
// name() and unlink() work there too. Only an anonymous segment must be sealed.
ExportedHandle HandleTraits<SharedMemory>::export_of(const SharedMemory& memory) {
  return HandleWriter(HandleKind::shared_memory).text(memory.name()).memory(memory).finish();
}

SharedMemory HandleTraits<SharedMemory>::import_from(std::span<const std::byte> bytes,
                                                     std::span<UniqueFd> fds) {
  HandleReader reader(bytes, fds, HandleKind::shared_memory, "SharedMemory");
  std::string name = reader.text();
  if (!name.empty()) (void)shm_path(name);  // Error for a name create() would refuse
  SharedMemory memory = reader.memory(0, std::move(name));
  reader.finish();
  return memory;
}

}  // namespace detail

}  // namespace mproc
