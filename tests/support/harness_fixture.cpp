// Deliberately leaky tests: harness_test runs this binary and checks the harness catches each leak.
#include <gtest/gtest.h>
#include <unistd.h>
#include <fcntl.h>
#include <sys/mman.h>
#include "support/leak_check.hpp"
TEST(HarnessFixture, LeaksChild) { if (fork() == 0) { pause(); _exit(0);} }
TEST(HarnessFixture, LeaksFd) { (void)open("/dev/null", O_RDONLY); }
TEST(HarnessFixture, LeaksShm) { int fd = shm_open(mproc::test::shm_name("leak").c_str(), O_CREAT|O_RDWR, 0600); close(fd); }
TEST(HarnessFixture, Clean) {}
