// Python twin: Process with arguments (multiprocessing docs, "The Process class").
//
//   from multiprocessing import Process
//
//   def f(name):
//       print('hello', name)
//
//   if __name__ == '__main__':
//       p = Process(target=f, args=('bob',))
//       p.start()
//       p.join()
//
// Prints "hello bob" (from the child). Exits 0 when the child did.
#include <mproc/mproc.hpp>

#include <cstdio>
#include <string>

namespace {

void f(const std::string& name) { std::printf("hello %s\n", name.c_str()); }

}  // namespace

int main() {
  mproc::Process p(f, std::string("bob"));
  p.start();
  p.join();
  return p.exitcode() == 0 ? 0 : 1;
}
