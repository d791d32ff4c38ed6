// listen sockets, each readiness kind (success, timeout, wrong sender), liveness, and
// the start-new-first restart, on real processes.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <map>
#include <sstream>
#include <thread>

#include "tests/integration/harness.h"

namespace superd::test {
namespace {

std::map<std::string, std::string> parse_info(const std::string& text) {
  std::map<std::string, std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    auto sp = line.find(' ');
    std::string key = line.substr(0, sp), value = sp == std::string::npos ? "" : line.substr(sp + 1);
    if (key == "env") {
      auto eq = value.find('=');
      out["env:" + value.substr(0, eq)] = value.substr(eq + 1);
    } else {
      out[key] = value;
    }
  }
  return out;
}

TEST(Listen, SocketsArePassedWithTheSystemdProtocol) {
  TempDir dir;
  const int port = free_port();
  const std::string info = dir / "info";
  Superd d(dir, "[service.web]\ncommand = " + cmd({"--info", info, "--pause"}) +
                    "\nlisten = [\"tcp:127.0.0.1:" + std::to_string(port) + "\", \"unix:" +
                    (dir / "web.sock") + "\"]\nstart_seconds = \"50ms\"\n");
  ASSERT_TRUE(d.start());
  ASSERT_TRUE(wait_until([&] { return file_exists(info); })) << d.daemon_log();
  auto fields = parse_info(read_file(info));
  EXPECT_EQ(fields["env:LISTEN_FDS"], "2");
  EXPECT_EQ(fields["env:LISTEN_PID"], fields["pid"]);
  EXPECT_EQ(fields["env:LISTEN_FDNAMES"], "web:web");
  EXPECT_EQ(fields["fds"], "0 1 2 3 4");
  struct stat st {};
  ASSERT_EQ(::stat((dir / "web.sock").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0660u);
  // superd holds the socket: a connection is queued even between processes.
  ASSERT_EQ(d.ctl({"stop", "web"}).exit_code, 0);
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ::close(fd);
}

TEST(Listen, BindFailureIsFatalNamingTheAddress) {
  TempDir dir;
  const int port = free_port();
  int blocker = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(blocker, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(blocker, 1), 0);
  Superd d(dir, "[service.web]\ncommand = " + cmd({"--pause"}) + "\nlisten = [\"tcp:127.0.0.1:" +
                    std::to_string(port) + "\"]\n");
  ASSERT_TRUE(d.start());
  ASSERT_TRUE(d.wait_state("web", "fatal"));
  EXPECT_EQ(d.status("web")["reason"],
            "bind tcp:127.0.0.1:" + std::to_string(port) + ": Address already in use");
  ::close(blocker);
}

// Still `starting` once superd itself says the process has been up well past
// start_seconds: readiness is the check, not start_seconds. (uptime is superd's own
// clock, and its start_seconds timer runs on the same loop that answers status.)
::testing::AssertionResult starting_past_start_seconds(const Superd& d, const std::string& name,
                                                       double start_seconds) {
  nlohmann::json st;
  const bool seen = wait_until([&] {
    st = d.status(name);
    return st.value("state", "") != "starting" || st.value("uptime", 0.0) >= 4 * start_seconds;
  });
  if (!seen) return ::testing::AssertionFailure() << "never got past start_seconds: " << st.dump();
  if (st.value("state", "") != "starting")
    return ::testing::AssertionFailure()
           << name << " left starting before it was ready: " << st.dump() << "\n"
           << d.daemon_log();
  return ::testing::AssertionSuccess();
}

TEST(Ready, NotifyReadyMakesRunningOnlyWhenSent) {
  TempDir dir;
  const std::string gate = dir / "gate";
  Superd d(dir, "[service.n]\ncommand = " +
                    cmd({"--wait-file", gate, "--notify", "READY=1\\nSTATUS=serving", "--pause"}) +
                    "\nready = \"notify\"\nstart_seconds = \"50ms\"\n");
  ASSERT_TRUE(d.start());
  EXPECT_TRUE(starting_past_start_seconds(d, "n", 0.05));
  write_file(gate, "");
  ASSERT_TRUE(d.wait_state("n", "running"));
  EXPECT_EQ(d.status("n")["status_text"], "serving");
  EXPECT_NE(d.daemon_log().find("n: starting -> running (ready)"), std::string::npos)
      << d.daemon_log();
}

TEST(Ready, NotifyFromAForeignProcessIsIgnored) {
  TempDir dir;
  Superd d(dir, "[service.n]\ncommand = " + cmd({"--pause"}) + "\nready = \"notify\"\n");
  ASSERT_TRUE(d.start());
  ASSERT_TRUE(d.wait_state("n", "starting"));
  // The test process is not a process of the service: its READY=1 must not count.
  const std::string path = dir / "run/notify/n";
  int fd = ::socket(AF_UNIX, SOCK_DGRAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
  ASSERT_EQ(::sendto(fd, "READY=1", 7, 0, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 7);
  ::close(fd);
  ASSERT_TRUE(wait_until([&] {
    return d.daemon_log().find("notify message from pid " + std::to_string(::getpid()) +
                               " ignored") != std::string::npos;
  }));
  EXPECT_EQ(d.status("n")["state"], "starting");
}

TEST(Ready, ReadyTimeoutIsAFailedStartWithTheReason) {
  TempDir dir;
  Superd d(dir, "[service.n]\ncommand = " + cmd({"--pause"}) +
                    "\nready = { log = \"never printed\", timeout = \"300ms\" }\nstart_retries = 1\n");
  ASSERT_TRUE(d.start());
  ASSERT_TRUE(d.wait_state("n", "fatal", 5s));
  EXPECT_NE(d.status("n")["reason"].get<std::string>().find("not ready after 300ms"),
            std::string::npos)
      << d.status("n").dump();
}

TEST(Ready, LogLineMatchMakesRunning) {
  TempDir dir;
  const std::string gate = dir / "gate";
  Superd d(dir, "[service.l]\ncommand = " +
                    cmd({"--print", "booting", "--wait-file", gate, "--print",
                         "Application startup complete.", "--pause"}) +
                    "\nready = { log = \"startup complete\", timeout = \"30s\" }\n"
                    "start_seconds = \"50ms\"\n");
  ASSERT_TRUE(d.start());
  ASSERT_TRUE(wait_until([&] { return read_file(d.log_dir() + "/l.log") == "booting\n"; }))
      << read_file(d.log_dir() + "/l.log");
  // A line that does not match, and start_seconds long past: still starting.
  EXPECT_TRUE(starting_past_start_seconds(d, "l", 0.05));
  write_file(gate, "");
  ASSERT_TRUE(d.wait_state("l", "running")) << d.daemon_log();
  EXPECT_NE(d.daemon_log().find("l: starting -> running (ready)"), std::string::npos)
      << d.daemon_log();
}

TEST(Ready, LogCheckSurvivesAVeryLongLine) {
  TempDir dir;
  // A 40000-character line once overflowed superd's stack in std::regex.
  const std::string script = dir / "long.sh";
  write_file(script, "#!/bin/sh\nprintf 'Listening on %040000d\\n' 0\necho 'Listening on :80 ready'\nexec " +
                         testprog() + " --pause\n");
  ::chmod(script.c_str(), 0755);
  Superd d(dir, "[service.l]\ncommand = [" + q(script) +
                    "]\nready = { log = \"^Listening on .*ready$\", timeout = \"5s\" }\n");
  ASSERT_TRUE(d.start());
  EXPECT_TRUE(d.wait_state("l", "running")) << d.daemon_log();
  EXPECT_TRUE(d.alive());
}

TEST(Ready, TcpAndHttpChecks) {
  TempDir dir;
  const int port = free_port();
  const int dead_port = free_port();
  const std::string p = std::to_string(port);
  Superd d(dir,
           "[service.web]\ncommand = [\"/usr/bin/python3\", \"-m\", \"http.server\", \"" + p +
               "\", \"--bind\", \"127.0.0.1\", \"--directory\", " + q(dir.path()) + "]\n" +
               "ready = { http = \"http://127.0.0.1:" + p + "/\", timeout = \"10s\", interval = \"50ms\" }\n" +
               "[service.tcp]\ncommand = " + cmd({"--pause"}) +
               "\nready = { tcp = \"127.0.0.1:" + p + "\", timeout = \"10s\", interval = \"50ms\" }\n"
               "after = [\"web\"]\n" +
               "[service.never]\ncommand = " + cmd({"--pause"}) +
               "\nready = { tcp = \"127.0.0.1:" + std::to_string(dead_port) +
               "\", timeout = \"400ms\", interval = \"50ms\" }\nstart_retries = 1\n");
  ASSERT_TRUE(d.start());
  EXPECT_TRUE(d.wait_state("web", "running", 15s)) << d.daemon_log();
  EXPECT_TRUE(d.wait_state("tcp", "running", 15s)) << d.daemon_log();
  EXPECT_TRUE(d.wait_state("never", "fatal", 5s));
}

TEST(Ready, ExecCheckRunsUntilItSucceeds) {
  TempDir dir;
  const std::string flag = dir / "flag";
  Superd d(dir, "[service.e]\ncommand = " + cmd({"--pause"}) +
                    "\nready = { exec = [\"/bin/test\", \"-f\", " + q(flag) +
                    "], timeout = \"10s\", interval = \"50ms\" }\n");
  ASSERT_TRUE(d.start());
  ASSERT_TRUE(d.wait_state("e", "starting"));
  write_file(flag, "");
  EXPECT_TRUE(d.wait_state("e", "running"));
}

TEST(Health, FailingChecksRestartTheService) {
  TempDir dir;
  const std::string flag = dir / "healthy";
  write_file(flag, "");
  Superd d(dir, "[service.h]\ncommand = " + cmd({"--pause"}) +
                    "\nstart_seconds = \"50ms\"\nhealth = { exec = [\"/bin/test\", \"-f\", " + q(flag) +
                    "], interval = \"100ms\", failures = 3 }\n");
  ASSERT_TRUE(d.start());
  ASSERT_TRUE(d.wait_state("h", "running"));
  pid_t first = d.status("h")["pid"];
  ::unlink(flag.c_str());
  pid_t second = d.wait_new_pid("h", first, 10s);
  EXPECT_NE(second, 0);
  EXPECT_NE(d.daemon_log().find("3 health checks failed in a row; restarting"), std::string::npos);
}

// A wrapper that fails when FLAG exists, so a restart's new instance can be made to fail,
// and whose instances wait while HOLD exists before they print their ready line, so the
// test decides when a new instance becomes ready. Every instance appends "PID ready" to
// EVENTS just before its ready line, and "PID term" / "PID exit" when stopped.
std::string wrapper(TempDir& dir) {
  const std::string path = dir / "serve.sh";
  write_file(path, "#!/bin/sh\nif [ -f " + (dir / "fail") + " ]; then echo broken; exit 1; fi\n"
                   "exec " + testprog() + " --term-log " + (dir / "events") + " 0 --wait-while " +
                       (dir / "hold") + " --print-to " + (dir / "events") +
                       " ready --print 'ready to serve' --pause\n");
  ::chmod(path.c_str(), 0755);
  return path;
}

std::string swap_service(TempDir& dir, int port) {
  return "[service.app]\ncommand = [" + q(wrapper(dir)) + "]\nlisten = [\"tcp:127.0.0.1:" +
         std::to_string(port) +
         "\"]\nready = { log = \"ready to serve\", timeout = \"30s\" }\nstart_seconds = \"50ms\"\n";
}

TEST(SwapRestart, NewInstanceIsReadyBeforeTheOldOneIsAskedToStop) {
  TempDir dir;
  Superd d(dir, swap_service(dir, free_port()));
  ASSERT_TRUE(d.start());
  ASSERT_TRUE(d.wait_state("app", "running"));
  const pid_t old_pid = d.status("app")["pid"];
  const ProcKey old_key = proc_key(old_pid);
  const std::string events = dir / "events";
  const std::string o = std::to_string(old_pid);
  ASSERT_EQ(read_file(events), o + " ready\n");

  // The new instance is held before its ready line; the restart waits for it.
  write_file(dir / "hold", "");
  RunResult r;
  std::thread restart([&] { r = d.ctl({"restart", "app"}); });
  nlohmann::json st;
  // Until the new instance has been up 4 x start_seconds (superd's own clock), held.
  const bool held = wait_until([&] {
    st = d.status("app");
    return st.value("pid", 0) != 0 && st.value("pid", 0) != old_pid &&
           st.value("uptime", 0.0) >= 0.2;
  });
  const std::string while_held = read_file(events);
  ::unlink((dir / "hold").c_str());
  restart.join();
  ASSERT_TRUE(held) << "no new instance: " << st.dump() << "\n" << d.daemon_log();
  const pid_t new_pid = st["pid"];
  const std::string n = std::to_string(new_pid);
  EXPECT_EQ(while_held, o + " ready\n")
      << "the old instance was signalled while the new one was not ready yet";
  EXPECT_EQ(st["state"], "starting") << st.dump();
  EXPECT_EQ(st["old_pid"], old_pid) << "the old instance must still serve beside the new one";

  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(d.status("app")["pid"], new_pid);
  EXPECT_FALSE(process_alive(old_key));
  // In the services' own words: the new one was ready, then the old one heard TERM.
  EXPECT_EQ(read_file(events), o + " ready\n" + n + " ready\n" + o + " term\n" + o + " exit\n");
  // And in superd's: the new instance's ready came before the order to stop the old one
  // (searched from the restart on: the first start was "ready" too).
  const std::string log = d.daemon_log();
  const auto began = log.find("restart: starting a new instance beside pid " + o);
  ASSERT_NE(began, std::string::npos) << log;
  const auto ready_at = log.find("app: starting -> running (ready)", began);
  const auto old_stop = log.find("stopping the old instance pid " + o, began);
  ASSERT_NE(ready_at, std::string::npos) << log;
  ASSERT_NE(old_stop, std::string::npos) << log;
  EXPECT_LT(ready_at, old_stop) << log;
}

TEST(SwapRestart, FailedNewInstanceLeavesTheOldOneServing) {
  TempDir dir;
  Superd d(dir, swap_service(dir, free_port()));
  ASSERT_TRUE(d.start());
  ASSERT_TRUE(d.wait_state("app", "running"));
  pid_t old_pid = d.status("app")["pid"];
  const ProcKey old_key = proc_key(old_pid);
  const std::string o = std::to_string(old_pid);
  write_file(dir / "fail", "");
  auto r = d.ctl({"restart", "app"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("restart failed: new instance exited with status 1"), std::string::npos)
      << r.out << r.err;
  auto st = d.status("app");
  EXPECT_EQ(st["state"], "running");
  EXPECT_EQ(st["pid"], old_pid);
  EXPECT_TRUE(process_alive(old_key));
  EXPECT_EQ(read_file(dir / "events"), o + " ready\n") << "the old instance was never signalled";
}

}  // namespace
}  // namespace superd::test
