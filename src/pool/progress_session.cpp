#include "pool/progress_session.hpp"

#include "pool/progress_bar.hpp"
#include "sys/write.hpp"

namespace mproc::pool {
namespace {

class BarSession final : public ProgressSession {
 public:
  BarSession(detail::ProgressBarOptions o, std::optional<std::size_t> total)
      : fd_(o.fd), bar_(std::move(o), total) {}
  void update(std::size_t done, std::size_t failed) override { bar_.update(done, failed); }
  void finish(bool ok) noexcept override { bar_.finish(ok); }
  [[nodiscard]] bool drawing() const noexcept override { return bar_.drawing(); }
  void summary(const std::string& line) noexcept override {
    if (!bar_.drawing()) return;
    try {
      sys::write_all(fd_, line + "\n");
    } catch (...) {  // as the bar: a closed terminal is no reason to fail the map
    }
  }

 private:
  int fd_;
  detail::ProgressBar bar_;
};

}  // namespace

std::unique_ptr<ProgressSession> ProgressSession::make(const PoolOptions& options,
                                                       std::optional<std::size_t> total) {
  if (!options.progress && !options.progress_callback) return nullptr;
  detail::ProgressBarOptions o;
  o.enabled = options.progress;
  o.force = options.progress_force;
  o.callback = options.progress_callback;
  return std::make_unique<BarSession>(std::move(o), total);
}

}  // namespace mproc::pool
