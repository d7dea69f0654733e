// Shared-memory segments at the system level: memfd_create, shm_open/shm_unlink, posix_fallocate
// (their mapping is a sys::SharedMapping). Every call is checked; every fd is born O_CLOEXEC.
#pragma once

#include <cstddef>
#include <string>

#include "sys/unique_fd.hpp"

namespace mproc::sys {

// memfd_create(label, MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_NOEXEC_SEAL, without the last on
// kernels before 6.3) sized to `size` bytes with ftruncate, then sealed with
// F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL: its size can never change (ftruncate fails with
// EPERM), so a mapping of it never faults with SIGBUS. Anonymous, freed with its last fd and
// mapping. Pages are committed when touched.
[[nodiscard]] UniqueFd memfd_of_size(const char* label, std::size_t size);

// shm_open(path, O_CREAT|O_EXCL|O_RDWR|O_CLOEXEC, 0600) and fchmod 0600 (whatever the umask),
// then posix_fallocate of `size` bytes so
// a full /dev/shm fails here, not as SIGBUS on first touch. On any failure the new name is
// unlinked again. An existing name throws SystemError(EEXIST) whose call names the path.
[[nodiscard]] UniqueFd shm_create(const std::string& path, std::size_t size);

// shm_open(path, O_RDWR|O_CLOEXEC). A missing name throws SystemError(ENOENT) naming the path.
[[nodiscard]] UniqueFd shm_attach(const std::string& path);

// shm_unlink(path); SystemError naming the path on failure (ENOENT when already unlinked).
void shm_remove(const std::string& path);
// shm_unlink(path), errors ignored: for cleaning up after another failure.
void shm_discard(const std::string& path) noexcept;

// The size of the file behind fd (fstat).
[[nodiscard]] std::size_t file_size(int fd);

// True when fd is a memfd whose size can never change: its seals (fcntl F_GET_SEALS) include
// F_SEAL_SHRINK and F_SEAL_GROW, as memfd_of_size leaves it. False for a memfd without them and
// for any other file (F_GET_SEALS fails with EINVAL); SystemError("fcntl(F_GET_SEALS)") for other
// failures (EBADF).
[[nodiscard]] bool size_sealed(int fd);

}  // namespace mproc::sys
