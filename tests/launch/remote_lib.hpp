// A shared library for the remote_call tests: task functions that live in it, and a call
// encoded inside it (so its trampoline is the library's).
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace remote_lib {

// What the task functions did in this process, in order.
std::string& log();

void record(int x);                // appends "lib.record(x);"
int triple(int x);                 // returns 3x, appends "lib.triple(x);"
void throw_logic_error(int code);  // throws std::logic_error("lib error <code>")

// encode_remote_call of a captureless lambda defined in the library, with argument x: it
// appends "lib.lambda(x);".
std::vector<std::byte> encode_lambda_call(int x);
// encode_remote_call(&record, x), instantiated in the library.
std::vector<std::byte> encode_record_call(int x);

}  // namespace remote_lib
