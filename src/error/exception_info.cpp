#include "error/exception_info.hpp"

#include <cxxabi.h>

#include <cstdlib>
#include <exception>
#include <typeinfo>

namespace mproc::detail {

std::string demangle(const char* mangled) {
  int status = 0;
  char* s = abi::__cxa_demangle(mangled, nullptr, nullptr, &status);
  if (status != 0 || s == nullptr) return mangled;
  std::string out(s);
  std::free(s);
  return out;
}

ExceptionInfo current_exception_info() {
  ExceptionInfo info;
  const std::type_info* t = abi::__cxa_current_exception_type();
  info.type_name = t != nullptr ? demangle(t->name()) : "<unknown type>";
  try {
    throw;
  } catch (const std::exception& e) {
    info.what = e.what();
    info.std_exception = true;
  } catch (...) {
    info.what = "(not derived from std::exception)";
  }
  return info;
}

}  // namespace mproc::detail
