// Python twin: Pipe (multiprocessing docs, "Exchanging objects between processes").
//
//   from multiprocessing import Process, Pipe
//
//   def f(conn):
//       conn.send([42, None, 'hello'])
//       conn.close()
//
//   if __name__ == '__main__':
//       parent_conn, child_conn = Pipe()
//       p = Process(target=f, args=(child_conn,))
//       p.start()
//       print(parent_conn.recv())   # prints "[42, None, 'hello']"
//       p.join()
//
// A Connection carries one C++ type, not any Python object: the mixed list [42, None, 'hello']
// becomes a std::tuple<int, std::optional<int>, std::string>, with std::nullopt for None.
// Prints "[42, None, 'hello']" and exits 0 when that is what arrived.
#include <mproc/mproc.hpp>

#include <cstdio>
#include <optional>
#include <string>
#include <tuple>
#include <utility>

namespace {

using Message = std::tuple<int, std::optional<int>, std::string>;

void f(mproc::Connection<Message> conn) {
  conn.send({42, std::nullopt, "hello"});
  conn.close();
}

// Python's repr of the list.
std::string repr(const Message& m) {
  const auto& [number, maybe, text] = m;
  return "[" + std::to_string(number) + ", " + (maybe ? std::to_string(*maybe) : "None") + ", '" +
         text + "']";
}

}  // namespace

int main() {
  auto [parent_conn, child_conn] = mproc::Pipe<Message>();
  mproc::Process p(f, std::move(child_conn));
  p.start();
  const std::string printed = repr(parent_conn.recv());
  std::printf("%s\n", printed.c_str());
  p.join();
  return printed == "[42, None, 'hello']" && p.exitcode() == 0 ? 0 : 1;
}
