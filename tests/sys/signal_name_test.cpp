#include "sys/signal_name.hpp"

#include <gtest/gtest.h>

#include <csignal>

namespace {

using mproc::sys::signal_description;
using mproc::sys::signal_name;

TEST(SignalName, IsTheAbbreviationWithItsSigPrefix) {
  EXPECT_EQ(signal_name(SIGSEGV), "SIGSEGV");
  EXPECT_EQ(signal_name(SIGKILL), "SIGKILL");
  EXPECT_EQ(signal_name(SIGABRT), "SIGABRT");
}

TEST(SignalName, NamesRealTimeSignalsRelativeToSigrtmin) {
  EXPECT_EQ(signal_name(SIGRTMIN), "SIGRTMIN");
  EXPECT_EQ(signal_name(SIGRTMIN + 3), "SIGRTMIN+3");
}

TEST(SignalName, ANumberThatIsNoSignalSaysSo) {
  EXPECT_EQ(signal_name(9999), "signal 9999");
  EXPECT_EQ(signal_description(9999), "Unknown signal 9999");
}

TEST(SignalDescription, IsTheStrsignalText) {
  EXPECT_EQ(signal_description(SIGSEGV), "Segmentation fault");
  EXPECT_EQ(signal_description(SIGKILL), "Killed");
}

}  // namespace
