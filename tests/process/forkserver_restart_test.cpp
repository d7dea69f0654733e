// RELIABILITY G3: the forkserver ignores SIGINT and SIGTERM (they are for the program); killed
// with SIGKILL anyway, it takes its running children with it (reported as killed by SIGKILL: the
// price of "no child outlives the program", see src/launch/forkserver.hpp) and the next start
// restarts it, by spawn, for Process and for Pool alike.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <numeric>
#include <string>
#include <vector>

#include "mproc/mproc.hpp"
#include "support/leak_check.hpp"
#include "support/proc_fds.hpp"

namespace {

using mproc::Process;
using mproc::ProcessOptions;
using mproc::StartMethod;
using namespace std::chrono_literals;

ProcessOptions forkserver() { return ProcessOptions{.start_method = StartMethod::forkserver}; }

void wait_for(mproc::Event go) {
  if (!go.wait(60s)) std::_Exit(3);
}
int square(int x) { return x * x; }

TEST(ForkserverRestart, G3_SigintAndSigtermDoNotReachTheServer) {
  mproc::Event go;
  Process waiting(forkserver(), wait_for, go);
  waiting.start();
  const int server = mproc::test::parent_pid_of(waiting.pid());
  ASSERT_GT(server, 1);
  ASSERT_EQ(::kill(server, SIGINT), 0);  // ignored: discarded when sent
  ASSERT_EQ(::kill(server, SIGTERM), 0);
  Process next(forkserver(), wait_for, go);
  next.start();
  EXPECT_EQ(mproc::test::parent_pid_of(next.pid()), server);  // the same server
  go.set();
  ASSERT_TRUE(next.join(30s));
  EXPECT_EQ(next.exitcode(), 0);
  ASSERT_TRUE(waiting.join(30s));
  EXPECT_EQ(waiting.exitcode(), 0);  // the old child completed
}

TEST(ForkserverRestart, G3_AKilledServerIsRestartedForProcessAndPool) {
  mproc::Event never;
  Process waiting(forkserver(), wait_for, never);
  waiting.start();
  const int server = mproc::test::parent_pid_of(waiting.pid());
  ASSERT_GT(server, 1);
  mproc::Pool pool(mproc::PoolOptions{.processes = 2, .start_method = StartMethod::forkserver});
  std::vector<int> in(1000);
  std::iota(in.begin(), in.end(), 0);
  ASSERT_EQ(pool.map(square, in).size(), in.size());

  ASSERT_EQ(::kill(server, SIGKILL), 0);
  // Its child died with it, and says so; nothing hangs.
  ASSERT_TRUE(waiting.join(30s));
  EXPECT_EQ(waiting.exitcode(), -SIGKILL);

  // A new start restarts the server.
  mproc::Event go;
  Process next(forkserver(), wait_for, go);
  next.start();
  const int restarted = mproc::test::parent_pid_of(next.pid());
  EXPECT_NE(restarted, server);
  EXPECT_EQ(mproc::test::parent_pid_of(restarted),
            static_cast<int>(::getpid()));  // ours, as the first was
  go.set();
  ASSERT_TRUE(next.join(30s));
  EXPECT_EQ(next.exitcode(), 0);

  // The pool lost its idle workers with the server and replaces them through the new one.
  const auto out = pool.map(square, in);
  ASSERT_EQ(out.size(), in.size());
  for (std::size_t i = 0; i < in.size(); ++i) ASSERT_EQ(out[i], in[i] * in[i]);
  for (const int pid : pool.worker_pids()) EXPECT_EQ(mproc::test::parent_pid_of(pid), restarted);
  pool.close();
  pool.join();

  // The restarted server lives as long as this binary, as the first did. The old server's
  // children (the waiting Process, the pool's first workers) were orphaned when it died and,
  // this test binary being a subreaper, came here: they were killed with the server.
  bool restarted_seen = false;
  for (const int pid : mproc::test::children()) {
    if (pid == restarted) {
      restarted_seen = true;
      continue;
    }
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "pid " << pid;
  }
  EXPECT_TRUE(restarted_seen);
  mproc::test::set_permanent_children({restarted});
  mproc::test::accept_open_fds();  // our end of the new server's socket
}

}  // namespace
