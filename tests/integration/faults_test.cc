// What production throws at a supervisor: its own kill -9 (also in the middle of a
// restart, and with a damaged record of what it ran), a full log disk and a full state
// dir, too few fds, a fork/exec refused for lack of processes, a user deleted under a
// running service; and what a service must never get from superd (fds).
#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "ipc/client.h"
#include "tests/integration/harness.h"

namespace superd::test {
namespace {

std::string regex_escape(const std::string& text) {
  return std::regex_replace(text, std::regex(R"([.^$|()\[\]{}*+?\\])"), R"(\$&)");
}

// The lines of `path` as "PID WORD" pairs, in the order they were appended.
std::vector<std::pair<std::string, std::string>> events_of(const std::string& path) {
  std::vector<std::pair<std::string, std::string>> out;
  std::istringstream in(read_file(path));
  for (std::string pid, word; in >> pid >> word;) out.emplace_back(pid, word);
  return out;
}

// What the processes of the next superd found when they started: one "--alive" report
// per leftover pid. Empty when no process reported.
std::map<pid_t, std::string> alive_reports(const std::string& path) {
  std::map<pid_t, std::string> out;
  std::istringstream in(read_file(path));
  for (pid_t pid; in >> pid;) {
    std::string what;
    in >> what;
    if (!out.count(pid) || what == "alive") out[pid] = what;  // "alive" from anyone wins
  }
  return out;
}

// --alive FILE PID for each of `pids`: the first thing a service of the next superd does.
std::vector<std::string> report_on(const std::string& file, const std::vector<ProcKey>& keys) {
  std::vector<std::string> args;
  for (const auto& k : keys) args.insert(args.end(), {"--alive", file, std::to_string(k.pid)});
  return args;
}

std::vector<std::string> concat(std::vector<std::string> a, const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

TEST(Crash, KillNineOfSuperdThenRestartRunsNothingTwice) {
  TempDir dir;
  const std::string pidfile = dir / "worker.pid";
  const std::string port = std::to_string(free_port());
  auto services = [&](const std::vector<std::string>& first) {
    return "[service.app]\ncommand = " +
           cmd(concat(first, {"--child", "--pidfile", pidfile, "--pause", "--", "--pause"})) +
           "\nlisten = [\"tcp:127.0.0.1:" + port +
           "\"]\nstart_seconds = \"50ms\"\nstop_timeout = \"2s\"\n"
           "[service.worker]\ncommand = " + cmd(concat(first, {"--ignore-term", "--pause"})) +
           "\nstart_seconds = \"50ms\"\nstop_timeout = \"300ms\"\n";
  };
  Superd d(dir, services({}));
  ASSERT_TRUE(d.start());
  ASSERT_TRUE(d.wait_state("app", "running"));
  ASSERT_TRUE(d.wait_state("worker", "running"));
  ASSERT_TRUE(wait_until([&] { return file_exists(pidfile); }));
  const ProcKey old_app = proc_key(d.status("app")["pid"]);
  const ProcKey old_worker = proc_key(d.status("worker")["pid"]);
  const ProcKey old_child = proc_key(std::stoi(read_file(pidfile)));
  KillAtExit guard;
  for (const auto& k : {old_app, old_worker, old_child}) guard.add(k);
  d.kill_hard();
  ASSERT_TRUE(process_alive(old_app) && process_alive(old_worker) && process_alive(old_child))
      << "a crash of superd leaves its services running";

  // The next superd's services first report whether any leftover still lives: "before it
  // starts anything" is checked by the very processes it starts.
  const std::string reports = dir / "alive";
  d.rewrite_services(services(report_on(reports, {old_app, old_child, old_worker})));
  ::unlink(pidfile.c_str());
  std::string why;
  ASSERT_TRUE(d.start({}, &why)) << why;
  ASSERT_TRUE(d.wait_state("app", "running")) << d.daemon_log();
  ASSERT_TRUE(d.wait_state("worker", "running"));
  const auto seen = alive_reports(reports);
  for (const ProcKey& k : {old_app, old_child, old_worker}) {
    ASSERT_TRUE(seen.count(k.pid)) << "no report on " << k.pid << ": " << read_file(reports);
    EXPECT_EQ(seen.at(k.pid), "gone")
        << "leftover " << k.pid << " was still alive when a new service process started\n"
        << read_file(reports);
  }
  EXPECT_FALSE(process_alive(old_worker)) << "ignored TERM: killed after stop_timeout";
  EXPECT_NE(d.status("app")["pid"], old_app.pid);
  EXPECT_NE(d.daemon_log().find("a previous superd left 2 service process groups running"),
            std::string::npos)
      << d.daemon_log();
  EXPECT_NE(d.daemon_log().find("worker: killed the leftover process group"), std::string::npos);
  // The new app got the port: its listen socket bound (no "Address already in use").
  EXPECT_EQ(d.status("app")["reason"].get<std::string>().find("bind"), std::string::npos);
}

// stop_mode = "main" holds for leftovers too: TERM to the main pid, which finishes its
// warm shutdown before the rest of its group hears anything.
TEST(Crash, LeftoversOfStopModeMainGetTermAtTheMainPidFirst) {
  TempDir dir;
  const std::string events = dir / "events";
  const std::string service =
      "[service.worker]\ncommand = " +
      cmd({"--term-log", events, "300", "--child", "--term-log", events, "0", "--pause", "--",
           "--pause"}) +
      "\nstop_mode = \"main\"\nstart_seconds = \"50ms\"\nstop_timeout = \"5s\"\n";
  Superd d(dir, service);
  ASSERT_TRUE(d.start());
  ASSERT_TRUE(d.wait_state("worker", "running"));
  const pid_t main_pid = d.status("worker")["pid"];
  ASSERT_TRUE(wait_until([&] { return processes_in_group(main_pid).size() == 2; }));
  KillAtExit guard;
  guard.add(proc_key(main_pid));
  d.kill_hard();
  ASSERT_TRUE(d.start()) << d.daemon_log();
  ASSERT_TRUE(d.wait_state("worker", "running")) << d.daemon_log();
  EXPECT_TRUE(processes_in_group(main_pid).empty());
  const auto ev = events_of(events);
  const std::string m = std::to_string(main_pid);
  ASSERT_EQ(ev.size(), 4u) << read_file(events);
  EXPECT_EQ(ev[0], std::make_pair(m, std::string("term"))) << read_file(events);
  EXPECT_EQ(ev[1], std::make_pair(m, std::string("exit"))) << read_file(events);
  EXPECT_NE(ev[2].first, m) << read_file(events);
  EXPECT_EQ(ev[2].second, "term") << read_file(events);
  EXPECT_NE(d.daemon_log().find("worker: stopped the leftover process group " + m),
            std::string::npos)
      << d.daemon_log();
}

// superd dies in the middle of a start-new-first restart: running.json holds both
// instances of the service, and the next superd stops both before it starts anything.
TEST(Crash, KillNineDuringASwapRestartStopsBothInstances) {
  TempDir dir;
  const std::string hold = dir / "hold";
  const std::string port = std::to_string(free_port());
  auto app = [&](const std::vector<std::string>& first, const std::string& hold_path) {
    return "[service.app]\ncommand = " +
           cmd(concat(first, {"--wait-while", hold_path, "--print", "ready to serve", "--pause"})) +
           "\nlisten = [\"tcp:127.0.0.1:" + port +
           "\"]\nready = { log = \"ready to serve\", timeout = \"30s\" }\nstart_seconds = \"50ms\"\n";
  };
  Superd d(dir, app({}, hold));
  ASSERT_TRUE(d.start());
  ASSERT_TRUE(d.wait_state("app", "running"));
  const ProcKey old_instance = proc_key(d.status("app")["pid"]);
  write_file(hold, "");  // the new instance never gets ready
  auto c = std::make_unique<ipc::Client>();
  c->set_timeout(5s);
  ASSERT_FALSE(c->connect(d.socket()));
  ASSERT_FALSE(c->send_raw(R"({"id": 1, "cmd": "restart", "args": {"names": ["app"]}})" "\n"));
  nlohmann::json st;
  ASSERT_TRUE(wait_until([&] {
    st = d.status("app");
    return st.value("old_pid", 0) == old_instance.pid && st.value("pid", 0) != old_instance.pid &&
           st.value("pid", 0) != 0;
  })) << st.dump();
  const ProcKey new_instance = proc_key(st["pid"]);
  // Both are recorded.
  nlohmann::json records;
  ASSERT_TRUE(wait_until([&] {
    records = nlohmann::json::parse(read_file(d.state_dir() + "/running.json"), nullptr, false);
    return records.is_array() && records.size() == 2;
  })) << read_file(d.state_dir() + "/running.json");
  std::set<pid_t> recorded;
  for (const auto& r : records) {
    EXPECT_EQ(r["service"], "app") << records.dump();
    recorded.insert(r["pid"].get<pid_t>());
  }
  EXPECT_EQ(recorded, (std::set<pid_t>{old_instance.pid, new_instance.pid}));
  c.reset();
  KillAtExit guard;
  guard.add(old_instance);
  guard.add(new_instance);
  d.kill_hard();
  ASSERT_TRUE(process_alive(old_instance) && process_alive(new_instance));

  // The orphaned new instance still waits at `hold` (which stays: were it to go on, it
  // would print to a pipe nobody reads and die of SIGPIPE, and prove nothing). The next
  // superd's instance waits at another path, which does not exist.
  const std::string reports = dir / "alive";
  d.rewrite_services(app(report_on(reports, {old_instance, new_instance}), dir / "hold2"));
  ASSERT_TRUE(d.start()) << d.daemon_log();
  ASSERT_TRUE(d.wait_state("app", "running")) << d.daemon_log();
  const auto seen = alive_reports(reports);
  for (const ProcKey& k : {old_instance, new_instance}) {
    ASSERT_TRUE(seen.count(k.pid)) << read_file(reports);
    EXPECT_EQ(seen.at(k.pid), "gone") << "instance " << k.pid
                                      << " was alive when the next one started";
  }
  EXPECT_NE(d.daemon_log().find("a previous superd left 2 service process groups running"),
            std::string::npos)
      << d.daemon_log();
}

TEST(Crash, AReusedPidIsNeverMistakenForALeftover) {
  TempDir dir;
  Superd d(dir, "[service.app]\ncommand = " + cmd({"--pause"}) + "\nstart_seconds = \"50ms\"\n");
  // A record that names a live process (this test) with the wrong start time.
  std::filesystem::create_directories(d.state_dir());
  write_file(d.state_dir() + "/running.json",
             "[{\"service\": \"app\", \"pid\": " + std::to_string(::getpid()) +
                 ", \"start_time\": 1}]\n");
  ASSERT_TRUE(d.start());
  ASSERT_TRUE(d.wait_state("app", "running"));
  EXPECT_EQ(d.daemon_log().find("previous superd left"), std::string::npos);
}

// running.json is written with rename, so superd never leaves half of one; but a disk or
// an operator can. A file that is not a list of records cannot say what was left: superd
// starts anyway and says so. A list with some bad entries still has good ones.
TEST(Crash, CorruptRunningJsonIsReportedAndItsGoodRecordsStillCount) {
  TempDir dir;
  const std::string service = "[service.app]\ncommand = " + cmd({"--pause"}) +
                              "\nstart_seconds = \"50ms\"\n";
  Superd d(dir, service);
  ASSERT_TRUE(d.start());
  ASSERT_TRUE(d.wait_state("app", "running"));
  const ProcKey leftover = proc_key(d.status("app")["pid"]);
  KillAtExit guard;
  guard.add(leftover);
  d.kill_hard();
  const std::string path = d.state_dir() + "/running.json";
  const std::string good = read_file(path);
  ASSERT_NE(good.find(std::to_string(leftover.pid)), std::string::npos) << good;

  // Half of the file.
  write_file(path, good.substr(0, good.size() / 2));
  ASSERT_TRUE(d.start()) << d.daemon_log();
  ASSERT_TRUE(d.wait_state("app", "running")) << d.daemon_log();
  EXPECT_NE(d.daemon_log().find(path + ": not a list of records"), std::string::npos)
      << d.daemon_log();
  EXPECT_TRUE(process_alive(leftover)) << "nothing said what it was, so nothing stopped it";
  const ProcKey second = proc_key(d.status("app")["pid"]);
  guard.add(second);
  d.kill_hard();

  // Junk entries around a good one: the good one is stopped, the junk reported.
  const nlohmann::json mixed = nlohmann::json::array(
      {"junk", {{"service", "app"}, {"pid", "x"}},
       {{"service", "app"}, {"pid", leftover.pid}, {"start_time", leftover.start_time}},
       {{"service", "app"}, {"pid", second.pid}, {"start_time", second.start_time}}});
  write_file(path, mixed.dump());
  ASSERT_TRUE(d.start()) << d.daemon_log();
  ASSERT_TRUE(d.wait_state("app", "running")) << d.daemon_log();
  EXPECT_FALSE(process_alive(leftover));
  EXPECT_FALSE(process_alive(second));
  EXPECT_NE(d.daemon_log().find(path + ": ignored 2 malformed records"), std::string::npos)
      << d.daemon_log();
  EXPECT_NE(d.daemon_log().find("a previous superd left 2 service process groups running"),
            std::string::npos)
      << d.daemon_log();
}

// A small tmpfs as log_dir: the disk fills, the service goes on, superd goes on, and
// when space returns the file says exactly how much was lost.
TEST(Faults, FullLogDiskBlocksNobodyAndIsReportedWhenSpaceReturns) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to mount a tmpfs";
  TempDir dir;
  const std::string logs = dir / "log";
  TmpfsMount disk(logs, "1m", "0750");
  ASSERT_TRUE(disk.mounted()) << disk.error();
  ASSERT_TRUE(disk.fill()) << disk.error();
  const std::string done = dir / "done";
  const std::string go_on = dir / "go-on";
  // 4 MB of lines into a full disk, then a marker file: the writer was never blocked.
  const int kLines = 40000, kLineBytes = 100;
  const std::string after = "after-space-returned\n";
  const std::string script = dir / "writer.sh";
  write_file(script, "#!/bin/sh\n" + testprog() + " --lines " + std::to_string(kLines) +
                         " --exit 0\ntouch " + done + "\nwhile [ ! -f " + go_on +
                         " ]; do sleep 0.05; done\necho after-space-returned\nexec " + testprog() +
                         " --pause\n");
  ::chmod(script.c_str(), 0755);
  Superd d(dir, "[service.writer]\ncommand = [" + q(script) +
                    "]\nstart_seconds = \"50ms\"\nlog_max_bytes = \"100MB\"\n");
  ASSERT_TRUE(d.start());
  ASSERT_TRUE(wait_until([&] { return file_exists(done); }, 30s)) << d.daemon_log();
  // superd still answers while the disk is full.
  ASSERT_TRUE(d.wait_state("writer", "running"));
  EXPECT_EQ(d.ctl({"status", "writer"}).exit_code, 0);
  // Space returns.
  disk.remove_filler();
  write_file(go_on, "");
  const std::string file = logs + "/writer.log";
  ASSERT_TRUE(wait_until([&] { return read_file(file).find(after) != std::string::npos; }, 10s))
      << d.daemon_log();
  // Every byte the service wrote is in the file or counted in the notice, and nothing is
  // counted that is in the file.
  const std::string text = read_file(file);
  const std::regex notice("(\n?)superd: ([0-9]+) bytes of output were dropped \\(writing " +
                          regex_escape(logs + "/writer.log") + ": No space left on device\\)\n");
  std::smatch m;
  ASSERT_TRUE(std::regex_search(text, m, notice)) << text.substr(0, 300) << "..."
                                                   << text.substr(text.size() > 300 ? text.size() - 300 : 0);
  const std::string rest = m.suffix().str();
  EXPECT_FALSE(std::regex_search(rest, notice)) << "one notice, once space returned";
  const unsigned long long dropped = std::stoull(m[2].str());
  const unsigned long long kept = m.prefix().length() + rest.size();
  EXPECT_EQ(kept + dropped, static_cast<unsigned long long>(kLines) * kLineBytes + after.size())
      << kept << " bytes in the file, " << dropped << " counted as dropped";
  EXPECT_GT(dropped, 3000000u) << "most of 4 MB cannot have fitted";
}

// A small tmpfs as state_dir, filled up: enable/disable cannot be saved, so they fail and
// change nothing (the saved choices stay as they were); recording a start fails and is
// logged; superd and its services go on. Once there is room again, both work.
TEST(Faults, FullStateDirFailsEnableCleanlyAndRecoversWhenSpaceReturns) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to mount a tmpfs";
  TempDir dir;
  std::string services;
  for (const char* name : {"a", "b"}) {
    services += std::string("[service.") + name + "]\ncommand = " + cmd({"--pause"}) +
                "\nstart_seconds = \"50ms\"\n";
  }
  TmpfsMount disk(dir / "state", "64k");  // the harness's state_dir; outlives superd
  ASSERT_TRUE(disk.mounted()) << disk.error();
  Superd d(dir, services);
  ASSERT_EQ(d.state_dir(), dir / "state");
  ASSERT_TRUE(d.start()) << d.daemon_log();
  ASSERT_TRUE(d.wait_state("a", "running"));
  ASSERT_TRUE(d.wait_state("b", "running"));
  ASSERT_EQ(d.ctl({"disable", "b"}).exit_code, 0);
  const std::string enabled = d.state_dir() + "/enabled.json";
  const std::string running = d.state_dir() + "/running.json";
  const std::string enabled_before = read_file(enabled);
  ASSERT_NE(enabled_before.find("\"b\": false"), std::string::npos) << enabled_before;
  const std::string running_before = read_file(running);
  ASSERT_TRUE(disk.fill()) << disk.error();

  auto r = d.ctl({"disable", "a"});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.err.find("No space left on device"), std::string::npos) << r.err;
  EXPECT_EQ(d.status("a")["enabled"], true) << "a choice that was not saved is not made";
  EXPECT_EQ(read_file(enabled), enabled_before);
  const pid_t a = d.status("a")["pid"];
  r = d.ctl({"restart", "a"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(d.status("a")["pid"], a);
  EXPECT_TRUE(wait_until([&] {
    // "recording running processes: 'RUNNING': 'RUNNING.tmp' cannot be written: No space ..."
    const std::string log = d.daemon_log();
    const size_t at = log.find("recording running processes: '" + running + "': '" + running + ".tmp' ");
    return at != std::string::npos &&
           log.find("No space left on device", at) < log.find('\n', at);
  })) << d.daemon_log();
  EXPECT_EQ(read_file(running), running_before) << "the last good record stays";
  for (const auto& e : std::filesystem::directory_iterator(d.state_dir())) {
    EXPECT_EQ(e.path().filename().string().find(".tmp"), std::string::npos)
        << "left over: " << e.path();
  }
  EXPECT_TRUE(d.alive());

  disk.remove_filler();
  r = d.ctl({"disable", "a"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(d.status("a")["enabled"], false);
  r = d.ctl({"restart", "a"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  const pid_t a2 = d.status("a")["pid"];
  EXPECT_TRUE(wait_until([&] {
    return read_file(running).find("\"pid\":" + std::to_string(a2)) != std::string::npos;
  })) << read_file(running);
}

// superd with too few fds: connections beyond what it can hold are refused (closed
// without an answer, not left waiting in the backlog), it stays up, and once the fds are
// free again it serves.
TEST(Faults, OutOfFdsRefusesClientsAndRecovers) {
  TempDir dir;
  Superd d(dir, "[service.app]\ncommand = " + cmd({"--pause"}) + "\nstart_seconds = \"50ms\"\n");
  d.set_nofile_limit(48);
  ASSERT_TRUE(d.start());
  ASSERT_TRUE(d.wait_state("app", "running"));
  std::vector<std::unique_ptr<ipc::Client>> served;
  int refused = 0, other = 0;
  std::string other_text;
  for (int i = 0; i < 80; ++i) {
    auto c = std::make_unique<ipc::Client>();
    c->set_timeout(5s);
    if (c->connect(d.socket())) {
      ++refused;
      continue;
    }
    auto reply = c->request("hello");
    const auto* answer = std::get_if<nlohmann::json>(&reply);
    const std::string error = answer ? answer->dump() : std::get<std::string>(reply);
    if (answer && answer->value("ok", false)) {
      served.push_back(std::move(c));  // held: each costs superd an fd
    } else if (!answer && (c->at_eof() || error.find("reset") != std::string::npos ||
                           error.find("Broken pipe") != std::string::npos)) {
      ++refused;  // closed without an answer
    } else {
      ++other;  // e.g. a timeout: a connection left in the backlog, unanswered
      if (other_text.empty()) other_text = error;
    }
  }
  EXPECT_GT(served.size(), 0u);
  EXPECT_GT(refused, 0) << "48 fds and 80 connections held, yet none was refused";
  EXPECT_EQ(other, 0) << "neither served nor refused: " << other_text;
  EXPECT_EQ(served.size() + refused + other, 80u);
  EXPECT_TRUE(d.alive());
  served.clear();
  // Recovers once the fds are free again.
  EXPECT_TRUE(wait_until([&] { return d.status("app").value("state", "") == "running"; }, 5s));
  EXPECT_EQ(d.ctl({"restart", "app"}).exit_code, 0) << d.daemon_log();
}

TEST(Faults, ExecRefusedForTooManyProcessesIsRetriedWithBackoff) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to create users";
  TestUser user("sdt-np" + std::to_string(::getpid() % 100000));
  TempDir dir;
  // While `first` runs, the user is over `second`'s nproc limit (0), so the kernel
  // refuses its exec with EAGAIN: a transient failure, retried with backoff; once
  // `first` is gone, `second` starts.
  Superd d(dir, "[service.first]\ncommand = " + cmd({"--pause"}) + "\nuser = " + q(user.name()) +
                    "\nstart_seconds = \"50ms\"\n[service.second]\ncommand = " + cmd({"--pause"}) +
                    "\nuser = " + q(user.name()) +
                    "\nafter = [\"first\"]\nlimits = { nproc = 0 }\nstart_seconds = \"50ms\"\n"
                    "start_retries = 100\nbackoff = { initial = \"50ms\", max = \"100ms\" }\n");
  ASSERT_TRUE(d.start());
  ASSERT_TRUE(d.wait_state("first", "running"));
  ASSERT_TRUE(wait_until([&] {
    return d.status("second").value("reason", "").find("Resource temporarily unavailable") !=
           std::string::npos;
  })) << d.status("second").dump();
  EXPECT_NE(d.status("second")["state"], "fatal");
  ASSERT_EQ(d.ctl({"stop", "first"}).exit_code, 0);
  EXPECT_TRUE(d.wait_state("second", "running", 10s)) << d.status("second").dump();
}

TEST(Faults, UserDeletedAfterStartMakesTheNextStartFatal) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to create users";
  TempDir dir;
  auto user = std::make_unique<TestUser>("sdt-del" + std::to_string(::getpid() % 100000));
  const std::string name = user->name();
  Superd d(dir, "[service.app]\ncommand = " + cmd({"--pause"}) + "\nuser = " + q(name) +
                    "\nstart_seconds = \"50ms\"\n");
  ASSERT_TRUE(d.start());
  ASSERT_TRUE(d.wait_state("app", "running"));
  ASSERT_EQ(d.ctl({"stop", "app"}).exit_code, 0);
  user.reset();  // userdel
  auto r = d.ctl({"start", "app"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(d.status("app")["state"], "fatal");
  EXPECT_EQ(d.status("app")["reason"], "user '" + name + "' does not exist");
}

TEST(Hardening, EveryFdOfSuperdIsCloseOnExec) {
  TempDir dir;
  Superd d(dir, "[service.app]\ncommand = " + cmd({"--print", "x", "--pause"}) +
                    "\nready = \"notify\"\nlisten = [\"tcp:127.0.0.1:" + std::to_string(free_port()) +
                    "\"]\n[service.b]\ncommand = " + cmd({"--pause"}) + "\nstderr = \"b.err\"\n");
  ASSERT_TRUE(d.start());
  ASSERT_TRUE(d.wait_state("b", "running"));
  const std::string fd_dir = "/proc/" + std::to_string(d.pid()) + "/fdinfo";
  DIR* dp = ::opendir(fd_dir.c_str());
  ASSERT_NE(dp, nullptr);
  int checked = 0;
  while (dirent* e = ::readdir(dp)) {
    int fd = std::atoi(e->d_name);
    if (e->d_name[0] == '.' || fd <= 2) continue;
    std::istringstream info(read_file(fd_dir + "/" + e->d_name));
    std::string key, flags;
    while (info >> key) {
      if (key == "flags:") {
        info >> flags;
        break;
      }
    }
    if (flags.empty()) continue;  // closed since it was listed (ENOENT)
    const unsigned long value = std::stoul(flags, nullptr, 8);
    std::error_code ec;
    const auto target =
        std::filesystem::read_symlink("/proc/" + std::to_string(d.pid()) + "/fd/" + e->d_name, ec);
    EXPECT_TRUE(value & O_CLOEXEC) << "fd " << fd << " flags " << flags << " -> "
                                   << (ec ? "(closed since)" : target.string());
    ++checked;
  }
  ::closedir(dp);
  EXPECT_GT(checked, 5);
  EXPECT_EQ(d.stop(), 0) << "superd must exit once its services are down\n" << d.daemon_log();
}

}  // namespace
}  // namespace superd::test
