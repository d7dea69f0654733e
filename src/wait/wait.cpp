#include "mproc/wait.hpp"

#include <memory>

#include "sys/poll.hpp"

namespace mproc {

std::vector<std::size_t> wait(std::span<const Waitable> objects,
                              std::optional<std::chrono::nanoseconds> timeout) {
  std::vector<int> fds(objects.size());
  bool any_ready_now = false;
  for (std::size_t i = 0; i < objects.size(); ++i) {
    fds[i] = objects[i].fd();
    any_ready_now = any_ready_now || objects[i].ready_now();
  }
  // Something is ready already: just look at the others, as Python's wait does.
  if (any_ready_now) timeout = std::chrono::nanoseconds::zero();
  auto ready = std::make_unique<bool[]>(objects.size());
  std::span<bool> ready_span(ready.get(), objects.size());
  (void)sys::wait_readable(fds, ready_span, timeout);
  std::vector<std::size_t> out;
  for (std::size_t i = 0; i < objects.size(); ++i) {
    if (ready[i] || objects[i].ready_now()) out.push_back(i);
  }
  return out;
}

}  // namespace mproc
