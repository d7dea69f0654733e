// Writing a whole buffer to an fd that may be a terminal, a pipe or a file.
#pragma once

#include <string_view>

namespace mproc::sys {

// Writes every byte with write(2), looping over short writes and EINTR. Never raises SIGPIPE: a
// reader that is gone gives SystemError("write", EPIPE) and no signal (SIGPIPE is blocked in
// this thread for the call, and a SIGPIPE it raised is consumed). Throws SystemError("write")
// for any error (EAGAIN on a non-blocking fd included); on a throw some prefix may be written.
void write_all(int fd, std::string_view bytes);

}  // namespace mproc::sys
