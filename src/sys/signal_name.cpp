#include "sys/signal_name.hpp"

#include <signal.h>
#include <string.h>

namespace mproc::sys {

std::string signal_name(int sig) {
  // sigabbrev_np/sigdescr_np (glibc 2.32) return static strings, unlike strsignal's buffer.
  if (const char* abbrev = ::sigabbrev_np(sig)) return std::string("SIG") + abbrev;
  if (sig >= SIGRTMIN && sig <= SIGRTMAX) {
    return sig == SIGRTMIN ? "SIGRTMIN" : "SIGRTMIN+" + std::to_string(sig - SIGRTMIN);
  }
  return "signal " + std::to_string(sig);
}

std::string signal_description(int sig) {
  if (const char* descr = ::sigdescr_np(sig)) return descr;
  if (sig >= SIGRTMIN && sig <= SIGRTMAX) {
    return "Real-time signal " + std::to_string(sig - SIGRTMIN);
  }
  return "Unknown signal " + std::to_string(sig);
}

}  // namespace mproc::sys
