// sys/socket: fds passed with SCM_RIGHTS arrive open, close-on-exec, and refer to the same file.
#include "sys/socket.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <vector>

#include "mproc/error.hpp"
#include "sys/fork.hpp"

namespace {

using mproc::sys::recv_fds;
using mproc::sys::send_fds;
using mproc::sys::stream_socketpair;

TEST(SocketFds, PassedFdsReferToTheSameFilesAndAreCloseOnExec) {
  auto [a, b] = stream_socketpair();
  auto p1 = mproc::sys::make_cloexec_pipe();
  auto p2 = mproc::sys::make_cloexec_pipe();
  const int fds[2] = {p1.write.get(), p2.write.get()};
  send_fds(a.get(), fds);
  auto got = recv_fds(b.get(), 2);
  ASSERT_EQ(got.size(), 2u);
  for (const auto& fd : got) EXPECT_NE(::fcntl(fd.get(), F_GETFD) & FD_CLOEXEC, 0);
  ASSERT_EQ(::write(got[0].get(), "x", 1), 1);
  ASSERT_EQ(::write(got[1].get(), "y", 1), 1);
  char c = 0;
  ASSERT_EQ(::read(p1.read.get(), &c, 1), 1);
  EXPECT_EQ(c, 'x');
  ASSERT_EQ(::read(p2.read.get(), &c, 1), 1);
  EXPECT_EQ(c, 'y');
}

TEST(SocketFds, NoFdsIsAMarkerOnly) {
  auto [a, b] = stream_socketpair();
  send_fds(a.get(), {});
  EXPECT_TRUE(recv_fds(b.get(), 0).empty());
}

TEST(SocketFds, AWrongCountIsAnErrorAndClosesWhatArrived) {
  auto [a, b] = stream_socketpair();
  auto p = mproc::sys::make_cloexec_pipe();
  const int fds[1] = {p.write.get()};
  send_fds(a.get(), fds);
  EXPECT_THROW((void)recv_fds(b.get(), 2), mproc::SystemError);
  p.write.reset();  // the only write end left open: the reader sees end of file
  char c;
  EXPECT_EQ(::read(p.read.get(), &c, 1), 0);
}

}  // namespace
