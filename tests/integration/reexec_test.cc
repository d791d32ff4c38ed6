// `superctl reexec` on real processes: superd replaced by the binary at its path, same
// pid, and nothing a service can see changes (SPEC "Upgrades").
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <future>
#include <sstream>
#include <thread>

#include "ipc/client.h"
#include "tests/integration/harness.h"

namespace superd::test {
namespace {

// A copy of superd a test may replace, as a package upgrade replaces /usr/sbin/superd.
std::string copy_of_superd(TempDir& dir, const std::string& name = "superd") {
  const std::string path = dir / name;
  std::filesystem::copy_file(superd_bin(), path, std::filesystem::copy_options::overwrite_existing);
  ::chmod(path.c_str(), 0755);
  return path;
}

// Replaces `path` by a new file (the running superd keeps the old inode).
void replace_with_script(const std::string& path, const std::string& body) {
  const std::string tmp = path + ".new";
  write_file(tmp, "#!/bin/sh\n" + body);
  ::chmod(tmp.c_str(), 0755);
  std::filesystem::rename(tmp, path);
}

// The "socket:[N]" of fd `fd` of `pid`, "" when there is none.
std::string socket_of(pid_t pid, int fd) {
  std::error_code ec;
  auto target = std::filesystem::read_symlink("/proc/" + std::to_string(pid) + "/fd/" + std::to_string(fd), ec);
  return ec ? "" : target.string();
}

bool holds(pid_t pid, const std::string& socket) {
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd", ec)) {
    std::error_code link_error;  // an fd closed since it was listed: not it
    if (std::filesystem::read_symlink(entry.path(), link_error).string() == socket) return true;
  }
  return false;
}

// One connection to 127.0.0.1:port: true when the service answered "hi".
bool greeted(int port) {
  UniqueFd fd = connect_loopback(port);
  char buf[8] = {};
  return fd && ::recv(fd.get(), buf, sizeof buf, MSG_WAITALL) == 3 && std::string(buf) == "hi\n";
}

// The numbers of "tick N" lines in a log file, in file order.
std::vector<long> ticks_in(const std::string& path) {
  std::vector<long> out;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("tick ", 0) == 0) out.push_back(std::stol(line.substr(5)));
  }
  return out;
}

std::string missing_or_repeated(const std::vector<long>& ticks) {
  for (size_t i = 0; i < ticks.size(); ++i) {
    if (ticks[i] != static_cast<long>(i) + 1) {
      return "line " + std::to_string(i + 1) + " is tick " + std::to_string(ticks[i]);
    }
  }
  return "";
}

// A control connection the old superd has accepted: it has answered a hello on it.
std::unique_ptr<ipc::Client> accepted_client(const Superd& d) {
  auto c = std::make_unique<ipc::Client>();
  c->set_timeout(10s);
  if (auto error = c->connect(d.socket())) {
    ADD_FAILURE() << "connect: " << *error;
    return nullptr;
  }
  auto hello = c->request("hello");
  if (auto* error = std::get_if<std::string>(&hello)) {
    ADD_FAILURE() << "hello: " << *error;
    return nullptr;
  }
  return c;
}

// How many times the superd answering on `c` has re-executed; -1 when it did not answer.
int reexecs_seen_by(ipc::Client& c) {
  auto hello = c.request("hello");
  if (!std::holds_alternative<nlohmann::json>(hello)) return -1;
  const auto& reply = std::get<nlohmann::json>(hello);
  return reply.value("ok", false) ? reply["result"].value("reexecs", 0) : -1;
}

const std::string kWaiting = "reexec: waiting for 1 control connection(s) to finish";

// `superctl reexec` in the background; `*waiting` says whether superd then logged that
// it waits for the one connection a test holds.
std::future<RunResult> reexec_waiting_for_held(const Superd& d, bool* waiting) {
  auto reexec = std::async(std::launch::async, [&d] { return d.ctl({"reexec"}); });
  *waiting = wait_until([&] { return d.daemon_log().find(kWaiting) != std::string::npos; });
  return reexec;
}

TEST(Reexec, NothingRestartsNoConnectionIsRefusedAndEveryLineIsKeptOnce) {
  TempDir dir;
  const int port = free_port();
  const std::string stop_ticking = dir / "stop-ticking";
  Superd d(dir, "[service.ticker]\ncommand = " + cmd({"--ticks-until", stop_ticking, "--exit", "0"}) +
                    "\nrestart = \"never\"\nstart_seconds = \"50ms\"\n"
                    "[service.web]\ncommand = " + cmd({"--accept", "1000000"}) +
                    "\nlisten = [\"tcp:127.0.0.1:" + std::to_string(port) + "\"]\n"
                    "ready = { tcp = \"127.0.0.1:" + std::to_string(port) + "\" }\n");
  d.set_binary(copy_of_superd(dir));
  ASSERT_TRUE(d.start());
  ASSERT_TRUE(d.wait_state("ticker", "running")) << d.daemon_log();
  ASSERT_TRUE(d.wait_state("web", "running")) << d.daemon_log();
  const int ticker = d.status("ticker")["pid"], web = d.status("web")["pid"];
  const std::string listen_socket = socket_of(web, 3);
  ASSERT_FALSE(listen_socket.empty());
  ASSERT_TRUE(holds(d.pid(), listen_socket));

  // Clients connect without a pause while superd re-executes, twice.
  std::atomic<bool> done{false};
  std::atomic<int> answered{0}, refused{0};
  std::thread clients([&] {
    for (int i = 0; i < 100000 && !done; ++i) (greeted(port) ? answered : refused)++;
  });
  Background follower({superctl_bin(), "-s", d.socket(), "log", "-f", "-n", "0", "ticker"}, dir / "follow1.out");
  ASSERT_TRUE(wait_until([&] { return read_file(dir / "follow1.out").find("tick") != std::string::npos; }));
  for (int round = 1; round <= 2; ++round) {
    auto r = d.ctl({"reexec"});
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err << d.daemon_log();
    EXPECT_NE(r.out.find("re-exec #" + std::to_string(round)), std::string::npos) << r.out;
  }
  EXPECT_TRUE(d.alive());
  // A follower of the new superd sees new lines.
  Background follower2({superctl_bin(), "-s", d.socket(), "log", "-f", "-n", "0", "ticker"}, dir / "follow2.out");
  EXPECT_TRUE(wait_until([&] { return read_file(dir / "follow2.out").find("tick") != std::string::npos; }))
      << read_file(dir / "follow2.out");
  const int answered_before = answered;
  EXPECT_TRUE(wait_until([&] { return answered > answered_before + 10; }));
  done = true;
  clients.join();
  // Enough lines across the two re-execs to mean something, however fast they were.
  EXPECT_TRUE(wait_until([&] { return ticks_in(d.log_dir() + "/ticker.log").size() > 100; }));
  write_file(stop_ticking, "");
  ASSERT_TRUE(d.wait_state("ticker", "exited")) << d.status("ticker").dump() << d.daemon_log();

  EXPECT_EQ(refused, 0) << answered << " connections answered";
  EXPECT_GT(answered, 0);
  EXPECT_EQ(d.status("web")["pid"], web);
  EXPECT_EQ(d.status("web")["restarts"], 0);
  EXPECT_EQ(d.status("ticker")["restarts"], 0);
  EXPECT_TRUE(holds(d.pid(), listen_socket)) << "superd bound a new socket";
  EXPECT_EQ(socket_of(web, 3), listen_socket);
  const auto ticks = ticks_in(d.log_dir() + "/ticker.log");
  EXPECT_GT(ticks.size(), 100u);
  EXPECT_EQ(missing_or_repeated(ticks), "") << ticks.size() << " lines";
  const std::string log = d.daemon_log();
  EXPECT_EQ(log.find("ticker: stopped -> starting", log.find("re-executing")), std::string::npos) << log;
  EXPECT_NE(log.find("2 services taken over, none restarted"), std::string::npos) << log;
  (void)ticker;
}

TEST(Reexec, ABackoffGoesOnWhereItWas) {
  TempDir dir;
  const std::string stamps = dir / "stamps";
  Superd d(dir, "[service.flaky]\ncommand = " + cmd({"--stamp", stamps, "--exit", "1"}) +
                    "\nbackoff = { initial = \"5s\", max = \"5s\" }\nstart_retries = 100\n");
  d.set_binary(copy_of_superd(dir));
  ASSERT_TRUE(d.start());
  ASSERT_TRUE(d.wait_state("flaky", "backoff")) << d.daemon_log();
  auto r = d.ctl({"reexec"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err << d.daemon_log();
  EXPECT_EQ(d.status("flaky")["state"], "backoff");
  auto starts = [&] {
    std::vector<long long> out;
    std::istringstream in(read_file(stamps));
    for (long long pid, ns; in >> pid >> ns;) out.push_back(ns);
    return out;
  };
  ASSERT_TRUE(wait_until([&] { return starts().size() >= 2; }, 15s)) << d.daemon_log();
  const auto s = starts();
  // Not at once (the new superd must not forget the deadline), and not later than the
  // wait above allows (it must not forget the timer either).
  EXPECT_GE(s[1] - s[0], 4'900'000'000LL) << d.daemon_log();
}

TEST(Reexec, AServiceKilledDuringTheExecIsRestartedOnce) {
  TempDir dir;
  const std::string stamps = dir / "stamps", pidfile = dir / "victim.pid";
  Superd d(dir, "[service.victim]\ncommand = " + cmd({"--stamp", stamps, "--pidfile", pidfile, "--pause"}) +
                    "\nstart_seconds = \"100ms\"\n");
  const std::string bin = copy_of_superd(dir);
  const std::string real = copy_of_superd(dir, "superd.real");
  d.set_binary(bin);
  ASSERT_TRUE(d.start());
  ASSERT_TRUE(d.wait_state("victim", "running")) << d.daemon_log();
  const int victim = d.status("victim")["pid"];
  // The "new binary" kills the service between the old superd's exec and the new one's
  // start, then becomes the new superd: the exit happens while nobody can reap it. (Not
  // a shell: it would reap the victim itself, as any child of its own.)
  replace_with_script(bin, "exec /usr/bin/python3 -c '\nimport os, signal, sys\n"
                           "if \"--state-fd\" in sys.argv:\n"
                           "    os.kill(int(open(sys.argv[1]).read()), signal.SIGKILL)\n"
                           "os.execv(sys.argv[2], sys.argv[2:])\n' " +
                               q(pidfile) + " " + q(real) + " \"$@\"\n");
  auto r = d.ctl({"reexec"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err << d.daemon_log();
  ASSERT_TRUE(wait_until([&] {
    auto st = d.status("victim");
    return st.value("state", "") == "running" && st.value("pid", 0) != victim;
  })) << d.daemon_log();
  EXPECT_EQ(d.status("victim")["restarts"], 1);
  EXPECT_NE(d.status("victim")["last_exit"].get<std::string>().find("KILL"), std::string::npos);
  std::istringstream in(read_file(stamps));
  int lines = 0;
  for (std::string line; std::getline(in, line);) ++lines;
  EXPECT_EQ(lines, 2) << read_file(stamps);
  EXPECT_TRUE(zombie_children_of(d.pid()).empty());
}

TEST(Reexec, ABinaryThatFailsItsCheckLeavesTheOldSuperdRunning) {
  TempDir dir;
  Superd d(dir, "[service.app]\ncommand = " + cmd({"--pause"}) + "\nstart_seconds = \"50ms\"\n");
  const std::string bin = copy_of_superd(dir);
  d.set_binary(bin);
  ASSERT_TRUE(d.start());
  ASSERT_TRUE(d.wait_state("app", "running")) << d.daemon_log();
  const int app = d.status("app")["pid"];

  replace_with_script(bin, "echo 'this superd is broken' >&2\nexit 1\n");
  auto r = d.ctl({"reexec"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("--reexec-check exited with status 1: this superd is broken"), std::string::npos) << r.err;

  ::unlink(bin.c_str());
  r = d.ctl({"reexec"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find(bin + ": No such file or directory"), std::string::npos) << r.err;

  // A binary of another format: it runs, the config loads, but it cannot read the state.
  replace_with_script(bin, "echo 'superd 9.0 reads state formats 7-9'\n");
  r = d.ctl({"reexec"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("does not read state format 1"), std::string::npos) << r.err;

  EXPECT_EQ(d.status("app")["pid"], app);
  EXPECT_EQ(d.status("app")["state"], "running");
  EXPECT_EQ(d.ctl({"status"}).exit_code, 0);
  EXPECT_EQ(d.daemon_log().find("re-executing"), std::string::npos);
}

TEST(Reexec, RefusedWhileTheConfigFileSaysSomethingElse) {
  TempDir dir;
  Superd d(dir, "[service.app]\ncommand = " + cmd({"--pause"}) + "\nstart_seconds = \"50ms\"\n");
  d.set_binary(copy_of_superd(dir));
  ASSERT_TRUE(d.start());
  ASSERT_TRUE(d.wait_state("app", "running")) << d.daemon_log();
  d.rewrite_services("[service.app]\ncommand = " + cmd({"--pause"}) + "\nstart_seconds = \"60ms\"\n");
  auto r = d.ctl({"reexec"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("no longer says what runs (app): run `superctl reload-config` first"), std::string::npos)
      << r.err;
  ASSERT_EQ(d.ctl({"reload-config"}).exit_code, 0);
  ASSERT_TRUE(d.wait_state("app", "running"));
  const int app = d.status("app")["pid"];
  r = d.ctl({"reexec"});
  EXPECT_EQ(r.exit_code, 0) << r.err << d.daemon_log();
  EXPECT_EQ(d.status("app")["pid"], app);
}

// A client the old superd accepted gets its answers from it: the exec waits until the
// client closes its connection (clients still in the backlog go to the new superd).
TEST(Reexec, AConnectionAcceptedBeforeTheExecIsAnsweredBeforeIt) {
  TempDir dir;
  Superd d(dir, "[service.app]\ncommand = " + cmd({"--pause"}) + "\nstart_seconds = \"50ms\"\n");
  d.set_binary(copy_of_superd(dir));
  ASSERT_TRUE(d.start());
  ASSERT_TRUE(d.wait_state("app", "running")) << d.daemon_log();
  auto held = accepted_client(d);
  ASSERT_TRUE(held);

  bool waiting = false;
  auto reexec = reexec_waiting_for_held(d, &waiting);
  ASSERT_TRUE(waiting) << d.daemon_log();
  // Mid-conversation: still the old superd, and it answers.
  EXPECT_EQ(reexecs_seen_by(*held), 0) << d.daemon_log();
  auto status = held->request("status");
  ASSERT_TRUE(std::holds_alternative<nlohmann::json>(status)) << std::get<std::string>(status);
  EXPECT_TRUE(std::get<nlohmann::json>(status).value("ok", false));
  held->close();

  const RunResult r = reexec.get();
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err << d.daemon_log();
  EXPECT_NE(r.out.find("re-exec #1"), std::string::npos) << r.out;
  auto fresh = accepted_client(d);
  ASSERT_TRUE(fresh);
  EXPECT_EQ(reexecs_seen_by(*fresh), 1);
  EXPECT_EQ(d.daemon_log().find("are cut"), std::string::npos) << d.daemon_log();
}

// A connection held open and silent does not hold the upgrade: it is cut when the
// budget ends, and the exec goes on.
TEST(Reexec, AConnectionHeldOpenIsCutWhenTheBudgetEnds) {
  TempDir dir;
  Superd d(dir, "[service.app]\ncommand = " + cmd({"--pause"}) + "\nstart_seconds = \"50ms\"\n");
  d.set_binary(copy_of_superd(dir));
  ASSERT_TRUE(d.start());
  ASSERT_TRUE(d.wait_state("app", "running")) << d.daemon_log();
  const int app = d.status("app")["pid"];
  auto held = accepted_client(d);
  ASSERT_TRUE(held);

  const RunResult r = d.ctl({"reexec"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err << d.daemon_log();
  const std::string log = d.daemon_log();
  EXPECT_NE(log.find(kWaiting), std::string::npos) << log;
  EXPECT_NE(log.find("reexec: 1 control connection(s) still open after 5 s are cut"), std::string::npos) << log;
  std::string error;
  EXPECT_FALSE(held->read_message(&error));
  EXPECT_TRUE(held->at_eof()) << error;
  EXPECT_EQ(d.status("app")["pid"], app);
}

// A refusal that comes while the exec waits for a connection (here the held client
// starts a rolling restart) gives the control socket back: the client that queued
// meanwhile is answered by the superd that stays.
TEST(Reexec, ARefusalWhileWaitingGivesTheSocketBack) {
  TempDir dir;
  Superd d(dir, "[service.worker]\ncommand = " + cmd({"--sleep", "300", "--notify", "READY=1", "--pause"}) +
                    "\nready = { notify = true }\ninstances = 2\n");
  d.set_binary(copy_of_superd(dir));
  ASSERT_TRUE(d.start());
  ASSERT_TRUE(d.wait_state("worker@0", "running")) << d.daemon_log();
  ASSERT_TRUE(d.wait_state("worker@1", "running")) << d.daemon_log();
  auto held = accepted_client(d);
  ASSERT_TRUE(held);

  bool waiting = false;
  auto reexec = reexec_waiting_for_held(d, &waiting);
  ASSERT_TRUE(waiting) << d.daemon_log();
  auto queued = std::async(std::launch::async, [&] { return d.ctl({"status", "worker"}); });
  auto roll = held->request("restart", {{"names", {"worker"}}});
  ASSERT_TRUE(std::holds_alternative<nlohmann::json>(roll)) << std::get<std::string>(roll);
  EXPECT_TRUE(std::get<nlohmann::json>(roll).value("ok", false)) << std::get<nlohmann::json>(roll).dump();

  const RunResult r = reexec.get();
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.err.find("reexec refused: a rolling restart of worker is under way"), std::string::npos) << r.err;
  const RunResult s = queued.get();  // exit 3 while an instance is not running
  EXPECT_TRUE(s.exit_code == 0 || s.exit_code == 3) << s.out << s.err << d.daemon_log();
  EXPECT_NE(s.out.find("worker@1"), std::string::npos) << s.out << s.err;
  EXPECT_EQ(reexecs_seen_by(*held), 0);
  EXPECT_EQ(d.ctl({"status"}).exit_code, 0);
  EXPECT_EQ(d.daemon_log().find("re-executing"), std::string::npos) << d.daemon_log();
}


// "Max open files  SOFT  HARD  files" of /proc/PID/limits; {-1, -1} when gone.
std::pair<long, long> open_file_limit(pid_t pid) {
  std::istringstream in(read_file("/proc/" + std::to_string(pid) + "/limits"));
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("Max open files", 0) != 0) continue;
    std::istringstream fields(line.substr(14));
    long soft = -1, hard = -1;
    fields >> soft >> hard;
    return {soft, hard};
  }
  return {-1, -1};
}

// superd raises its own soft open-file limit to the hard one (thousands of services hold
// two pipe ends each), and a service never sees it: it gets the limit superd was started
// with, before a re-exec and after, unless `limits.nofile` sets its own.
TEST(Reexec, ServicesKeepTheOpenFileLimitSuperdWasStartedWith) {
  TempDir dir;
  Superd d(dir, "[service.plain]\ncommand = " + cmd({"--pause"}) + "\nstart_seconds = \"50ms\"\n"
                "[service.own]\ncommand = " + cmd({"--pause"}) +
                "\nlimits = { nofile = 300 }\nstart_seconds = \"50ms\"\n");
  d.set_binary(copy_of_superd(dir));
  d.set_nofile_limit(256, 4096);
  ASSERT_TRUE(d.start());
  ASSERT_TRUE(d.wait_state("plain", "running")) << d.daemon_log();
  ASSERT_TRUE(d.wait_state("own", "running")) << d.daemon_log();
  EXPECT_EQ(open_file_limit(d.pid()), std::make_pair(4096L, 4096L));
  EXPECT_EQ(open_file_limit(d.status("plain")["pid"]), std::make_pair(256L, 4096L));
  EXPECT_EQ(open_file_limit(d.status("own")["pid"]), std::make_pair(300L, 300L));

  auto r = d.ctl({"reexec"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err << d.daemon_log();
  EXPECT_EQ(open_file_limit(d.pid()), std::make_pair(4096L, 4096L));
  const pid_t before = d.status("plain")["pid"];
  r = d.ctl({"restart", "plain"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err << d.daemon_log();
  const pid_t after = d.wait_new_pid("plain", before);
  ASSERT_GT(after, 0) << d.daemon_log();
  EXPECT_EQ(open_file_limit(after), std::make_pair(256L, 4096L));
}

}  // namespace
}  // namespace superd::test
