#include "sys/write.hpp"

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <ctime>

#include "sys/check.hpp"

namespace mproc::sys {

namespace {

// Blocks SIGPIPE in this thread for its lifetime; on the way out, consumes a SIGPIPE that our
// write raised (one that was pending before is left alone), then restores the mask.
class SigpipeBlock {
 public:
  SigpipeBlock() noexcept {
    sigemptyset(&pipe_);
    sigaddset(&pipe_, SIGPIPE);
    sigset_t pending;
    sigpending(&pending);
    was_pending_ = sigismember(&pending, SIGPIPE) == 1;
    ::pthread_sigmask(SIG_BLOCK, &pipe_, &old_);
  }
  ~SigpipeBlock() {
    if (raised_ && !was_pending_) {
      timespec zero{};
      int saved = errno;
      while (::sigtimedwait(&pipe_, nullptr, &zero) == -1 && errno == EINTR) {
      }
      errno = saved;
    }
    ::pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }
  SigpipeBlock(const SigpipeBlock&) = delete;
  SigpipeBlock& operator=(const SigpipeBlock&) = delete;
  void note_epipe() noexcept { raised_ = true; }

 private:
  sigset_t pipe_{};
  sigset_t old_{};
  bool was_pending_ = false;
  bool raised_ = false;
};

}  // namespace

void write_all(int fd, std::string_view bytes) {
  SigpipeBlock block;
  while (!bytes.empty()) {
    ssize_t n = retry_eintr([&] { return ::write(fd, bytes.data(), bytes.size()); });
    if (n < 0) {
      if (errno == EPIPE) block.note_epipe();
      detail::throw_errno("write");
    }
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
}

}  // namespace mproc::sys
