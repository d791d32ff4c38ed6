#include "ipc/signal_name.h"

#include <gtest/gtest.h>

#include <csignal>

namespace superd::ipc {
namespace {

TEST(SignalName, ParsesNamesWithOrWithoutSigAndNumbers) {
  EXPECT_EQ(parse_signal("HUP"), SIGHUP);
  EXPECT_EQ(parse_signal("hup"), SIGHUP);
  EXPECT_EQ(parse_signal("SIGHUP"), SIGHUP);
  EXPECT_EQ(parse_signal("sigterm"), SIGTERM);
  EXPECT_EQ(parse_signal("USR1"), SIGUSR1);
  EXPECT_EQ(parse_signal("9"), SIGKILL);
  EXPECT_EQ(parse_signal("TTIN"), SIGTTIN);
}

TEST(SignalName, RejectsEverythingElse) {
  for (const char* text : {"", "0", "32", "-1", "9x", "SIG", "FOO", "SIGSIGHUP", " HUP",
                           "HUP ", "99999999999999999999", "RTMIN"})
    EXPECT_FALSE(parse_signal(text)) << text;
}

TEST(SignalName, Names) {
  EXPECT_EQ(signal_name(SIGHUP), "HUP");
  EXPECT_EQ(signal_name(SIGKILL), "KILL");
  EXPECT_EQ(signal_name(0), "0");
  EXPECT_EQ(signal_name(200), "200");
}

}  // namespace
}  // namespace superd::ipc
