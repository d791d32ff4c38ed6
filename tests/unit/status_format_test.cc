// superctl's presentation of status results.
#include "ipc/status_format.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace superd::ipc {
namespace {

using nlohmann::json;

json service(std::string name, std::string state, int pid, int uptime, bool enabled,
             std::string reason = "", std::string last_exit = "", int restarts = 0) {
  return {{"name", name},         {"state", state},       {"pid", pid},
          {"since", 1700000000},  {"uptime", uptime},     {"restarts", restarts},
          {"enabled", enabled},   {"desired", "up"},      {"last_exit", last_exit},
          {"reason", reason}};
}

TEST(FormatUptime, TwoLargestUnits) {
  EXPECT_EQ(format_uptime(0), "0s");
  EXPECT_EQ(format_uptime(9), "9s");
  EXPECT_EQ(format_uptime(59), "59s");
  EXPECT_EQ(format_uptime(60), "1m00s");
  EXPECT_EQ(format_uptime(4 * 60 + 12), "4m12s");
  EXPECT_EQ(format_uptime(3600), "1h00m");
  EXPECT_EQ(format_uptime(2 * 3600 + 5 * 60 + 59), "2h05m");
  EXPECT_EQ(format_uptime(86400), "1d0h");
  EXPECT_EQ(format_uptime(3 * 86400 + 4 * 3600 + 1234), "3d4h");
  EXPECT_EQ(format_uptime(-5), "0s");
}

TEST(FormatStatusTable, AlignedWithReasonsForServicesNotRunning) {
  const json result = {
      {"services",
       {service("app", "running", 1234, 7500, true),
        service("worker", "fatal", 0, 0, true, "exec /usr/bin/celery: No such file or directory",
                "", 5),
        service("flower", "stopped", 0, 0, false, "", "killed by signal KILL")}}};
  EXPECT_EQ(format_status_table(result),
            "NAME    STATE    PID   UPTIME  MEM  CPU  RESTARTS  ENABLED\n"
            "app     running  1234  2h05m   -    -    0         yes\n"
            "worker  fatal    -     -       -    -    5         yes      exec /usr/bin/celery: No such file or directory\n"
            "flower  stopped  -     -       -    -    0         no       killed by signal KILL\n");
}

TEST(FormatStatusTable, MemAndCpuFromTheCgroupAndTheLinesAfter) {
  json app = service("app", "running", 1234, 7500, true);
  app["memory_current"] = 52428800;
  app["cpu_usage_usec"] = 1250000;
  app["cgroup_issues"] = {"memory_high: not enforced"};
  json worker = service("worker", "running", 1300, 60, true);
  worker["memory_current"] = 1288490188;
  worker["cpu_usage_usec"] = 252000000;
  EXPECT_EQ(format_status_table({{"services", {app, worker}}}),
            "NAME    STATE    PID   UPTIME  MEM    CPU    RESTARTS  ENABLED\n"
            "app     running  1234  2h05m   50.0M  1.25s  0         yes\n"
            "worker  running  1300  1m00s   1.2G   4m12s  0         yes\n"
            "app: memory_high: not enforced\n");
  json result = {{"services", json::array()},
                 {"cgroups", {{"used", false}, {"why_not", "off"}}}};
  EXPECT_EQ(format_status_table(result),
            "NAME  STATE  PID  UPTIME  MEM  CPU  RESTARTS  ENABLED\n"
            "cgroups: not used: off; services run in process groups\n");
  EXPECT_EQ(format_bytes(512), "512B");
  EXPECT_EQ(format_bytes(150u << 20), "150M");
}

TEST(FormatStatusTable, FractionalUptimeIsTruncated) {
  json app = service("app", "running", 42, 0, true);
  app["uptime"] = 125.9;
  EXPECT_NE(format_status_table({{"services", {app}}}).find(" 2m05s "), std::string::npos);
  app["uptime"] = 1e300;
  EXPECT_NO_THROW(format_status_table({{"services", {app}}}));
}

TEST(FormatStatusTable, ReasonAndLastExitBothShownOnce) {
  const json result = {{"services",
                        {service("a", "fatal", 0, 0, true, "5 quick exits in a row", "exited with status 1"),
                         service("b", "fatal", 0, 0, true, "exited with status 2", "exited with status 2")}}};
  const std::string table = format_status_table(result);
  EXPECT_NE(table.find("5 quick exits in a row; last exit: exited with status 1"), std::string::npos);
  EXPECT_NE(table.find("  exited with status 2\n"), std::string::npos);
  EXPECT_EQ(table.find("status 2; last exit"), std::string::npos);
}

TEST(FormatStatusTable, ColourOnlyWhenAskedAndAlignmentUnaffected) {
  const json result = {{"services",
                        {service("app", "running", 1, 1, true), service("w", "backoff", 0, 0, true),
                         service("f", "fatal", 0, 0, true), service("s", "stopped", 0, 0, true)}}};
  const std::string plain = format_status_table(result);
  EXPECT_EQ(plain.find('\x1b'), std::string::npos);
  const std::string colored = format_status_table(result, {.color = true});
  EXPECT_NE(colored.find("\x1b[32mrunning\x1b[0m  "), std::string::npos);
  EXPECT_NE(colored.find("\x1b[33mbackoff\x1b[0m  "), std::string::npos);
  EXPECT_NE(colored.find("\x1b[1;31mfatal\x1b[0m    "), std::string::npos);
  EXPECT_NE(colored.find(" stopped  "), std::string::npos);  // not coloured
  // Stripping the escapes gives the plain table back.
  std::string stripped;
  for (std::size_t i = 0; i < colored.size(); ++i) {
    if (colored[i] == '\x1b') {
      i = colored.find('m', i);
      continue;
    }
    stripped += colored[i];
  }
  EXPECT_EQ(stripped, plain);
}

TEST(FormatStatusTable, SurvivesAnyShapeOfResult) {
  for (const json& result :
       {json(nullptr), json::array(), json::object(), json{{"services", 5}},
        json{{"services", {1, "x", nullptr, json::object()}}},
        json{{"services", {{{"name", 5}, {"state", {1}}, {"pid", "12"}, {"uptime", -1.5},
                             {"restarts", 18446744073709551615ull}, {"enabled", "yes"}}}}}}) {
    EXPECT_NO_THROW(format_status_table(result, {.color = true})) << result.dump();
    EXPECT_NO_THROW(format_state_lines(result)) << result.dump();
    EXPECT_NO_THROW(any_not_running(result, {"x"})) << result.dump();
  }
  EXPECT_EQ(format_status_table(json::object()), "NAME  STATE  PID  UPTIME  MEM  CPU  RESTARTS  ENABLED\n");
}

TEST(FormatStatusTable, ControlCharactersAreNeutralised) {
  const json result = {{"services", {service("a", "fatal", 0, 0, true, "bad\x1b]0;title\x07\nline")}}};
  const std::string table = format_status_table(result);
  EXPECT_EQ(table.find('\x1b'), std::string::npos);
  EXPECT_EQ(std::count(table.begin(), table.end(), '\n'), 2);
}

TEST(FormatStateLines, OnePerRequestedService) {
  const json result = {{"services",
                        {service("app", "running", 1234, 3, true),
                         service("worker", "fatal", 0, 0, true, "exec /x: No such file or directory"),
                         service("flower", "stopped", 0, 0, true, "stopped (killed by signal TERM)")}}};
  EXPECT_EQ(format_state_lines(result, {"app", "worker"}),
            "app: running (pid 1234)\nworker: fatal (exec /x: No such file or directory)\n");
  EXPECT_EQ(format_state_lines(result, {"all"}),
            "app: running (pid 1234)\nworker: fatal (exec /x: No such file or directory)\n"
            "flower: stopped\n");
  EXPECT_EQ(format_state_lines(result), format_state_lines(result, {"all"}));
}

TEST(AnyNotRunning, NamedOrEveryEnabled) {
  const json result = {{"services",
                        {service("app", "running", 1, 1, true), service("w", "starting", 2, 0, true),
                         service("off", "stopped", 0, 0, false)}}};
  EXPECT_FALSE(any_not_running(result, {"app"}));
  EXPECT_TRUE(any_not_running(result, {"app", "w"}));
  EXPECT_TRUE(any_not_running(result, {"off"}));      // named: its state counts
  EXPECT_TRUE(any_not_running(result, {"missing"}));  // absent counts as not running
  EXPECT_TRUE(any_not_running(result, {}));           // w is enabled and starting
  const json healthy = {{"services",
                         {service("app", "running", 1, 1, true), service("off", "stopped", 0, 0, false)}}};
  EXPECT_FALSE(any_not_running(healthy, {}));  // disabled services do not count
  EXPECT_FALSE(any_not_running(healthy, {"all"}));
}

}  // namespace
}  // namespace superd::ipc

namespace superd::ipc {
namespace {

json instance(std::string name, int k, std::string state, int pid, int uptime) {
  json row = service(name + "@" + std::to_string(k), state, pid, uptime, true);
  row["service"] = name;
  row["instance"] = k;
  return row;
}

TEST(FormatStatusTable, InstancesAreGroupedUnderTheirService) {
  json redis = service("redis", "running", 4121, 7500, true);
  redis["service"] = "redis";
  redis["instance"] = nullptr;
  json w0 = instance("worker", 0, "running", 4130, 7500);
  json w1 = instance("worker", 1, "starting", 4131, 2);
  w0["memory_current"] = 100 << 20;
  w1["memory_current"] = 50 << 20;
  w0["cpu_usage_usec"] = 1000000;
  w1["cpu_usage_usec"] = 500000;
  const json result = {{"services", {redis, w0, w1}},
                       {"groups",
                        {{{"service", "worker"}, {"instances", 2}, {"configured", 3}},
                         {{"service", "beat"}, {"instances", 0}, {"configured", 1}}}}};
  EXPECT_EQ(format_status_table(result),
            "NAME        STATE        PID   UPTIME  MEM    CPU    RESTARTS  ENABLED\n"
            "redis       running      4121  2h05m   -      -      0         yes\n"
            "worker      1/2 running  -     -       150M   1.50s  0         yes      scaled to 2 (the config says 3)\n"
            "  worker@0  running      4130  2h05m   100M   1.00s  0         yes\n"
            "  worker@1  starting     4131  2s      50.0M  0.50s  0         yes\n"
            "beat        0 instances  -     -       -      -      0         -        scaled to 0 (the config says 1)\n");
  // The lines after a restart of `worker` are its instances'.
  EXPECT_EQ(format_state_lines(result, {"worker"}), "worker@0: running (pid 4130)\nworker@1: starting\n");
  // `status worker` exits 3 while an instance is not running; a service scaled to 0 is fine.
  EXPECT_TRUE(any_not_running(result, {"worker"}));
  EXPECT_FALSE(any_not_running(result, {"worker@0"}));
  EXPECT_FALSE(any_not_running(result, {"beat"}));
  EXPECT_TRUE(any_not_running(result, {"nope"}));
}

// A service's bytes on an operator's terminal: no escape sequence gets through whole.
TEST(EscapeControls, ControlCharactersAreShownNotSent) {
  EXPECT_EQ(escape_controls("plain text\tand tab"), "plain text\tand tab");
  EXPECT_EQ(escape_controls("\x1b]0;owned\x07"), "\\x1b]0;owned\\x07");  // retitle the window
  EXPECT_EQ(escape_controls("\x1b[2J\r"), "\\x1b[2J\\x0d");             // clear, overwrite
  EXPECT_EQ(escape_controls("del\x7f"), "del\\x7f");
  EXPECT_EQ(escape_controls("\xc2\x9b" "2J"), "\\xc2\\x9b2J");  // C1 CSI in UTF-8
  EXPECT_EQ(escape_controls("\xff\xfe"), "\\xff\\xfe");         // not UTF-8
  EXPECT_EQ(escape_controls("caf\xc3\xa9 \xe2\x9c\x93"), "caf\xc3\xa9 \xe2\x9c\x93");  // UTF-8 stays
}

}  // namespace
}  // namespace superd::ipc
