// Compiled by tests/codec/compile_fail/check_compile.cmake with one -DMPROC_CASE_<name>; every
// case but "control" must fail with remote_call.hpp's static_assert message.
#include <functional>
#include <string>

#include "mproc/detail/remote_call.hpp"

void takes_string(std::string) {}

int main() {
#if defined(MPROC_CASE_captures_string)
  std::string s = "x";
  (void)mproc::detail::encode_remote_call([s](int) { (void)s; }, 1);
#elif defined(MPROC_CASE_std_function)
  std::function<void(int)> f = [](int) {};
  (void)mproc::detail::encode_remote_call(f, 1);
#elif defined(MPROC_CASE_pointer_argument)
  (void)mproc::detail::encode_remote_call(&takes_string, "a string literal");
#elif defined(MPROC_CASE_control)
  (void)mproc::detail::encode_remote_call(&takes_string, std::string("fine"));
#endif
}
