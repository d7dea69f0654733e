// What a child reports about an exception it caught: the type's readable name and its what().
#pragma once

#include <string>

namespace mproc::detail {

// "std::invalid_argument" for a mangled type name; the input itself if it does not demangle.
[[nodiscard]] std::string demangle(const char* mangled);

struct ExceptionInfo {
  std::string type_name;  // "<unknown type>" if the runtime cannot tell
  std::string what;       // e.what(), or "(not derived from std::exception)"
  bool std_exception = false;
};

// Inside a catch block: the exception being handled. May throw std::bad_alloc.
[[nodiscard]] ExceptionInfo current_exception_info();

}  // namespace mproc::detail
