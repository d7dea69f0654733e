// A user's program: the umbrella header and the mproc::mproc target are all it needs.
#include <mproc/mproc.hpp>

#include <cstdio>
#include <string>

int main() {
  auto [parent, child] = mproc::Pipe<std::string>();
  mproc::Process p([](mproc::Connection<std::string>& c) { c.send(c.recv() + " ok"); },
                   std::ref(child));
  p.start();
  child.close();
  parent.send("consumer");
  std::string reply = parent.recv();
  p.join();
  std::printf("%s (child exit code %d)\n", reply.c_str(), p.exitcode().value_or(-1));
  return p.exitcode() == 0 ? 0 : 1;
}
