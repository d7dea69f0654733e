#include "mproc/start_method.hpp"

#include <algorithm>
#include <atomic>

#include "start_method/cpu_quota.hpp"
#include "sys/cpu.hpp"

namespace mproc {
namespace {

// The one process-wide setting Python has too (multiprocessing.set_start_method).
std::atomic<StartMethod> g_start_method{StartMethod::fork};

}  // namespace

void set_start_method(StartMethod method) noexcept {
  g_start_method.store(method, std::memory_order_relaxed);
}

StartMethod get_start_method() noexcept { return g_start_method.load(std::memory_order_relaxed); }

const char* to_string(StartMethod method) noexcept {
  switch (method) {
    case StartMethod::fork:
      return "fork";
    case StartMethod::forkserver:
      return "forkserver";
    case StartMethod::spawn:
      return "spawn";
  }
  return "unknown";
}

unsigned cpu_count() noexcept { return sys::online_cpu_count(); }

unsigned process_cpu_count() noexcept {
  unsigned n = cpu_count();
  if (auto affinity = sys::affinity_cpu_count()) n = std::min(n, *affinity);
  if (auto quota = detail::cgroup_cpu_limit()) n = std::min(n, *quota);
  return std::max(n, 1u);
}

}  // namespace mproc
