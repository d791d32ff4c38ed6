// The re-exec state as text: what one superd writes, the next one reads, across versions.
#include <gtest/gtest.h>

#include "supervisor/reexec_check.h"
#include "supervisor/reexec_state.h"

namespace superd {
namespace {

TimePoint at_ns(int64_t ns) {
  return TimePoint(std::chrono::duration_cast<Clock::duration>(std::chrono::nanoseconds(ns)));
}

SavedState sample() {
  SavedState s;
  s.control_fd = 5;
  s.control_lock_fd = 6;
  s.state_lock_fd = 4;
  s.ready_sent = true;
  s.reexecs = 2;
  s.cgroup_own_v2 = "/system.slice/superd.service";
  s.cgroup_own_v2_dir = "/sys/fs/cgroup/unified/system.slice/superd.service";
  SavedService app;
  app.name = "app";
  app.machine.state = State::running;
  app.machine.want_up = true;
  app.machine.since = at_ns(123456789012345);
  app.machine.reason = "a reason\nwith a newline and a \\ backslash";
  app.machine.last_exit = "killed by signal KILL";
  app.machine.pid = 4242;
  app.machine.pgid = 4200;  // MAINPID= named another process of its session
  app.machine.main_alive = app.machine.group_alive = app.machine.exec_ok = true;
  app.machine.spawned_at = at_ns(123456000000000);
  app.machine.was_running = app.machine.launched_before = true;
  app.machine.ready_failed = "timed out";
  app.machine.exit = ExitStatus{true, 9};
  app.machine.quick_failures = 1;
  app.machine.restarts = 7;
  app.start_time = 998877;
  app.session_start_time = 998800;
  app.deadline = at_ns(123999000000000);
  app.out = {10, 11, false};
  app.err = {12, 13, true};
  app.listen_fds = {14, 15};
  app.notify_fd = 16;
  app.status_text = "serving";
  app.health_failures = 2;
  app.swap_leaf = true;
  SavedService worker;
  worker.name = "worker@0";
  worker.machine.state = State::backoff;
  worker.pending_start = true;
  worker.out = {20, 21, true};
  s.services = {app, worker};
  return s;
}

TEST(ReexecState, WhatIsWrittenIsReadBack) {
  const SavedState before = sample();
  const DecodedState decoded = decode_state(encode_state(before));
  ASSERT_TRUE(decoded.state) << decoded.error;
  EXPECT_TRUE(decoded.warnings.empty());
  const SavedState& after = *decoded.state;
  EXPECT_EQ(encode_state(after), encode_state(before));
  EXPECT_EQ(after.control_fd, 5);
  EXPECT_EQ(after.reexecs, 2);
  EXPECT_EQ(after.cgroup_own_v2, before.cgroup_own_v2);
  ASSERT_EQ(after.services.size(), 2u);
  const SavedService& app = after.services[0];
  EXPECT_EQ(app.machine.reason, before.services[0].machine.reason);
  EXPECT_EQ(app.machine.pgid, 4200);
  EXPECT_EQ(app.session_start_time, 998800u);
  EXPECT_EQ(app.machine.since, before.services[0].machine.since);
  EXPECT_EQ(app.deadline, before.services[0].deadline);
  ASSERT_TRUE(app.machine.exit);
  EXPECT_TRUE(app.machine.exit->signaled);
  EXPECT_EQ(app.machine.exit->code, 9);
  EXPECT_EQ(app.listen_fds, (std::vector<int>{14, 15}));
  EXPECT_FALSE(app.out.at_line_start);
  EXPECT_EQ(after.services[1].name, "worker@0");
  EXPECT_EQ(after.services[1].machine.state, State::backoff);
  EXPECT_TRUE(after.services[1].pending_start);
  EXPECT_FALSE(after.services[1].deadline);
  EXPECT_FALSE(after.services[1].machine.exit);
  EXPECT_EQ(after.services[1].err.read_fd, -1);
  EXPECT_EQ(fds_of(after), (std::vector<int>{5, 6, 4, 10, 11, 12, 13, 16, 14, 15, 20, 21}));
}

// Version N+1 may add keys: version N reads the rest and says what it ignored.
TEST(ReexecState, AnUnknownKeyIsIgnoredWithAWarning) {
  std::string text = encode_state(sample());
  text.insert(text.find("service=app\n") + 12, "cpu_weight_of_the_future=3\n");
  text += "daemon_key_of_the_future=x\n";  // read as a key of the last service
  const DecodedState decoded = decode_state(text);
  ASSERT_TRUE(decoded.state) << decoded.error;
  ASSERT_EQ(decoded.warnings.size(), 2u);
  EXPECT_NE(decoded.warnings[0].find("unknown key 'cpu_weight_of_the_future' ignored"), std::string::npos);
  EXPECT_EQ(encode_state(*decoded.state), encode_state(sample()));
}

TEST(ReexecState, WhatItCannotReadIsRefusedWithWhy) {
  EXPECT_EQ(decode_state("").error, "not a superd state (its first line is not 'superd-state N')");
  EXPECT_EQ(decode_state("superd-state 99\n").error, "state format 99 is not one this superd reads (1 to 1)");
  EXPECT_EQ(decode_state("superd-state 1\ncontrol_fd=5\nnonsense\n").error,
            "state line 3: not key=value: 'nonsense'");
  EXPECT_EQ(decode_state("superd-state 1\nservice=a\npid=12x\n").error, "state line 3: bad value for 'pid': '12x'");
  EXPECT_EQ(decode_state("superd-state 1\nservice=a\nstate=sleeping\n").error,
            "state line 3: bad value for 'state': 'sleeping'");
}

TEST(ReexecState, TheCheckLineNamesTheFormatsABinaryReads) {
  EXPECT_TRUE(reads_state_format(reexec_check_line(), kStateFormat));
  EXPECT_TRUE(reads_state_format("superd 2.0 reads state formats 1-3\n", 1));
  EXPECT_FALSE(reads_state_format("superd 9.0 reads state formats 7-9", 1));
  EXPECT_FALSE(reads_state_format("super.toml: ok", 1));
}

}  // namespace
}  // namespace superd
