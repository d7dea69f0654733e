#include "remote_lib.hpp"

#include <stdexcept>

#include "mproc/detail/remote_call.hpp"

namespace remote_lib {

std::string& log() {
  static std::string text;
  return text;
}

void record(int x) { log() += "lib.record(" + std::to_string(x) + ");"; }

int triple(int x) {
  log() += "lib.triple(" + std::to_string(x) + ");";
  return 3 * x;
}

void throw_logic_error(int code) { throw std::logic_error("lib error " + std::to_string(code)); }

std::vector<std::byte> encode_lambda_call(int x) {
  return mproc::detail::encode_remote_call(
      [](int v) { log() += "lib.lambda(" + std::to_string(v) + ");"; }, x);
}

std::vector<std::byte> encode_record_call(int x) {
  return mproc::detail::encode_remote_call(&record, x);
}

}  // namespace remote_lib
