#include "mproc/initializer.hpp"

#include "mproc/error.hpp"

namespace mproc {

void Initializer::throw_not_for_exec() {
  throw Error(
      "mproc::Initializer: this function or one of its arguments cannot reach a worker that does "
      "not share this process's memory (start methods spawn and forkserver): use a function "
      "pointer or a captureless lambda, and transferable or handle arguments (API.md, \"What can "
      "cross a process boundary\"), or StartMethod::fork");
}

}  // namespace mproc
