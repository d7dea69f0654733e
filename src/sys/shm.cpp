#include "sys/shm.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "sys/check.hpp"

// Linux 6.3 (include/uapi/linux/memfd.h); older headers lack it, older kernels reject it (EINVAL).
#ifndef MFD_NOEXEC_SEAL
#define MFD_NOEXEC_SEAL 0x0008U
#endif

namespace mproc::sys {

namespace {
// "shm_open(\"/name\")": the call and the name, so "No such file or directory" says which.
std::string named_call(const char* call, const std::string& path) {
  return std::string(call) + "(\"" + path + "\")";
}
}  // namespace

UniqueFd memfd_of_size(const char* label, std::size_t size) {
  // MFD_NOEXEC_SEAL: never executable (F_SEAL_EXEC), and what vm.memfd_noexec=2 demands; kernels
  // before 6.3 do not know it and say EINVAL.
  int raw = ::memfd_create(label, MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_NOEXEC_SEAL);
  if (raw < 0 && errno == EINVAL) raw = ::memfd_create(label, MFD_CLOEXEC | MFD_ALLOW_SEALING);
  UniqueFd fd(check_unix(raw, "memfd_create"));
  call_unix("ftruncate", [&] { return ::ftruncate(fd.get(), static_cast<off_t>(size)); });
  // The size is final: no holder of the fd can shrink it under another's mapping (SIGBUS) or
  // grow it, and no one can lift the seals.
  check_unix(::fcntl(fd.get(), F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL),
             "fcntl(F_ADD_SEALS)");
  return fd;
}

UniqueFd shm_create(const std::string& path, std::size_t size) {
  const int raw = retry_eintr(
      [&] { return ::shm_open(path.c_str(), O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0600); });
  if (raw < 0) detail::throw_errno(named_call("shm_open", path));
  UniqueFd fd(raw);
  // The umask may have cleared bits of 0600 (an owner who cannot read their own segment): set the
  // mode itself. A looser umask cannot add bits, so this only ever restores owner access.
  if (::fchmod(fd.get(), 0600) != 0) {
    const int e = errno;
    shm_discard(path);
    detail::throw_errno(named_call("fchmod", path), e);
  }
  int err = 0;
  do {
    err = ::posix_fallocate(fd.get(), 0, static_cast<off_t>(size));  // returns the error
  } while (err == EINTR);
  if (err != 0) {
    shm_discard(path);  // we created it: leave nothing behind
    detail::throw_errno(named_call("posix_fallocate", path), err);
  }
  return fd;
}

UniqueFd shm_attach(const std::string& path) {
  const int raw = retry_eintr([&] { return ::shm_open(path.c_str(), O_RDWR | O_CLOEXEC, 0); });
  if (raw < 0) detail::throw_errno(named_call("shm_open", path));
  return UniqueFd(raw);
}

void shm_remove(const std::string& path) {
  if (::shm_unlink(path.c_str()) != 0) detail::throw_errno(named_call("shm_unlink", path));
}

void shm_discard(const std::string& path) noexcept { ::shm_unlink(path.c_str()); }

std::size_t file_size(int fd) {
  struct stat st {};
  check_unix(::fstat(fd, &st), "fstat");
  return static_cast<std::size_t>(st.st_size);
}

bool size_sealed(int fd) {
  const int seals = ::fcntl(fd, F_GET_SEALS);
  if (seals < 0 && errno == EINVAL) return false;  // not a file that carries seals
  check_unix(seals, "fcntl(F_GET_SEALS)");
  constexpr int kSize = F_SEAL_SHRINK | F_SEAL_GROW;
  return (seals & kSize) == kSize;
}

}  // namespace mproc::sys
