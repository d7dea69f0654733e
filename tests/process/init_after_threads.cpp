// mproc::init called after the program started a thread is a clear mproc::Error (the forkserver
// must be forked while the program has one thread). Its own main, since the test main calls init
// first; run by CTest, exit code 0 when init refused with the expected message.
#include <mproc/mproc.hpp>

#include <atomic>
#include <cstdio>
#include <string>
#include <thread>

int main(int argc, char** argv) {
  std::atomic<bool> done{false};
  std::thread t([&] {
    while (!done.load()) std::this_thread::yield();  // alive while init runs
  });
  bool refused = false;
  try {
    mproc::init(argc, argv);
  } catch (const mproc::Error& e) {
    refused = std::string(e.what()).find("before anything starts a thread") != std::string::npos;
    std::printf("refused: %s\n", e.what());
  }
  done = true;
  t.join();
  return refused && !mproc::initialized() ? 0 : 1;
}
