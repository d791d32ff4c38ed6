// The control plane against a real superd over its real socket (issue 4): every superctl
// verb with its output and exit code, --json parsed field by field, authorization by
// peer credentials, persisted enable/disable, reload-config's diff, log -n and -f, and
// the server's robustness against malformed, oversized, slow and stalled clients.
//
// Every superctl run here is bounded (run_ctl kills it after a deadline and reports
// exit code -2), every wait polls a real observable against a deadline, and every
// process a test starts is stopped by its pid.
#include <fcntl.h>
#include <grp.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "ipc/client.h"
#include "ipc/protocol.h"
#include "tests/integration/harness.h"

namespace superd::test {
namespace {

using nlohmann::json;
using Ms = std::chrono::milliseconds;
using SteadyClock = std::chrono::steady_clock;

std::string service(const std::string& name, const std::vector<std::string>& args,
                    const std::string& extra = "") {
  std::string cmd = "[" + q(testprog());
  for (const auto& a : args) cmd += ", " + q(a);
  cmd += "]";
  const bool own_start = extra.find("start_seconds") != std::string::npos;
  return "[service." + name + "]\ncommand = " + cmd + "\n" +
         (own_start ? "" : "start_seconds = \"100ms\"\n") + extra + "\n";
}

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

Ms since(SteadyClock::time_point t) {
  return std::chrono::duration_cast<Ms>(SteadyClock::now() - t);
}

RunResult ctl(const Superd& d, const std::vector<std::string>& args, const RunOptions& opt = {}) {
  std::vector<std::string> argv = {superctl_bin(), "-s", d.socket()};
  argv.insert(argv.end(), args.begin(), args.end());
  return run(argv, opt);
}

std::string show(const RunResult& r) {
  return "exit " + std::to_string(r.exit_code) + "\nstdout:\n" + r.out + "stderr:\n" + r.err;
}

json parse_json(const std::string& text) {
  json j = json::parse(text, nullptr, false);
  return j;
}

pid_t pid_of(const Superd& d, const std::string& name) { return d.status(name).value("pid", 0); }

double unix_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// A connected raw client with a bounded wait for every read.
std::unique_ptr<ipc::Client> connect_client(const Superd& d, Ms timeout = 5s) {
  auto c = std::make_unique<ipc::Client>();
  c->set_timeout(timeout);
  if (auto error = c->connect(d.socket())) {
    ADD_FAILURE() << "connect " << d.socket() << ": " << *error;
    return nullptr;
  }
  return c;
}

json request(ipc::Client& c, std::string_view cmd, json args = json::object()) {
  auto reply = c.request(cmd, std::move(args));
  if (auto* error = std::get_if<std::string>(&reply)) return json{{"client_error", *error}};
  return std::get<json>(reply);
}

// Line number (1-based) of the first line of `path` containing `needle`; 0 if none.
int line_of(const std::string& path, const std::string& needle) {
  auto lines = split_lines(read_file(path));
  for (size_t i = 0; i < lines.size(); ++i) {
    if (lines[i].find(needle) != std::string::npos) return static_cast<int>(i + 1);
  }
  return 0;
}

// ---- status -------------------------------------------------------------------------

TEST(Control, StatusTableColumnsAndExitCodes) {
  TempDir dir;
  Superd d(dir, service("app", {"--pause"}) + service("off", {"--pause"}, "enabled = false") +
                    service("done", {"--exit", "0"}, "restart = \"never\"") +
                    service("broken", {"--exit", "3"}, "restart = \"never\""));
  std::string why;
  ASSERT_TRUE(d.start({}, &why)) << why;
  ASSERT_TRUE(d.wait_state("app", "running")) << d.daemon_log();
  ASSERT_TRUE(d.wait_state("done", "exited")) << d.daemon_log();
  ASSERT_TRUE(d.wait_state("broken", "fatal")) << d.daemon_log();
  // A restart shows in RESTARTS.
  pid_t first = pid_of(d, "app");
  ASSERT_EQ(::kill(first, SIGKILL), 0);
  pid_t app_pid = d.wait_new_pid("app", first);
  ASSERT_GT(app_pid, 0) << d.daemon_log();

  auto r = ctl(d, {"status"});
  EXPECT_EQ(r.exit_code, 3) << "enabled services are not running\n" << show(r);
  EXPECT_EQ(r.err, "");
  auto lines = split_lines(r.out);
  // The tests' superd runs in this host's root cgroup, which is not delegated to it: the
  // table ends with the one line that says so.
  ASSERT_EQ(lines.size(), 6u) << r.out;
  EXPECT_EQ(lines.back().rfind("cgroups: not used: ", 0), 0u) << r.out;
  lines.pop_back();
  const std::string& header = lines[0];
  const std::vector<std::string> columns = {"NAME", "STATE", "PID",      "UPTIME",
                                            "MEM",  "CPU",   "RESTARTS", "ENABLED"};
  std::vector<size_t> col;
  for (const auto& c : columns) {
    size_t at = header.find(c);
    ASSERT_NE(at, std::string::npos) << header;
    col.push_back(at);
  }
  EXPECT_EQ(col[0], 0u);
  EXPECT_TRUE(std::is_sorted(col.begin(), col.end())) << header;
  // Cell i of a row: the text from its column's offset up to the next run of spaces.
  auto cell = [&](const std::string& row, size_t i) -> std::string {
    if (row.size() <= col[i]) return "<missing>";
    if (col[i] > 0 && row[col[i] - 1] != ' ') return "<misaligned>";
    size_t end = row.find(' ', col[i]);
    return row.substr(col[i], end == std::string::npos ? std::string::npos : end - col[i]);
  };
  std::map<std::string, std::string> rows;
  for (size_t i = 1; i < lines.size(); ++i) rows[cell(lines[i], 0)] = lines[i];
  ASSERT_EQ(rows.size(), 4u) << r.out;

  const std::string& app = rows["app"];
  EXPECT_EQ(cell(app, 1), "running") << app;
  EXPECT_EQ(cell(app, 2), std::to_string(app_pid)) << app;
  EXPECT_TRUE(std::regex_match(cell(app, 3), std::regex("[0-9]+s"))) << app;
  EXPECT_EQ(cell(app, 4), "-") << "no cgroup, no MEM: " << app;
  EXPECT_EQ(cell(app, 6), "1") << app;
  EXPECT_EQ(cell(app, 7), "yes") << app;
  EXPECT_EQ(app.size(), col[7] + 3) << "nothing after ENABLED for a running service: " << app;

  const std::string& off = rows["off"];
  EXPECT_EQ(cell(off, 1), "stopped") << off;
  EXPECT_EQ(cell(off, 2), "-") << off;
  EXPECT_EQ(cell(off, 3), "-") << off;
  EXPECT_EQ(cell(off, 6), "0") << off;
  EXPECT_EQ(cell(off, 7), "no") << off;

  const std::string& done = rows["done"];
  EXPECT_EQ(cell(done, 1), "exited") << done;
  EXPECT_EQ(cell(done, 2), "-") << done;
  EXPECT_EQ(cell(done, 7), "yes") << done;
  EXPECT_NE(done.find("exited with status 0", col[7]), std::string::npos)
      << "last exit reason after the columns: " << done;

  const std::string& broken = rows["broken"];
  EXPECT_EQ(cell(broken, 1), "fatal") << broken;
  EXPECT_NE(broken.find("exited with status 3", col[7]), std::string::npos) << broken;

  // Exit codes.
  r = ctl(d, {"status", "app"});
  EXPECT_EQ(r.exit_code, 0) << show(r);
  EXPECT_EQ(split_lines(r.out).size(), 3u) << r.out;
  r = ctl(d, {"status", "off"});
  EXPECT_EQ(r.exit_code, 3) << show(r);
  r = ctl(d, {"status", "app", "off"});
  EXPECT_EQ(r.exit_code, 3) << show(r);
  EXPECT_EQ(split_lines(r.out).size(), 4u) << r.out;
  r = ctl(d, {"status", "done"});
  EXPECT_EQ(r.exit_code, 3) << show(r);
  r = ctl(d, {"status", "ap"});
  EXPECT_EQ(r.exit_code, 4) << show(r);
  EXPECT_EQ(r.err, "superctl: no service 'ap'\n");
  EXPECT_EQ(r.out, "");
  r = ctl(d, {"status", "app", "ap"});
  EXPECT_EQ(r.exit_code, 4) << show(r);
  EXPECT_EQ(r.err, "superctl: no service 'ap'\n");
  r = ctl(d, {"--json", "status", "ap"});
  EXPECT_EQ(r.exit_code, 4) << show(r);
  EXPECT_EQ(r.err, "superctl: no service 'ap'\n");
  EXPECT_EQ(r.out, "");

  // With only running or disabled services, a bare status is 0.
  r = ctl(d, {"disable", "done", "broken"});
  ASSERT_EQ(r.exit_code, 0) << show(r);
  r = ctl(d, {"status"});
  EXPECT_EQ(r.exit_code, 0) << show(r);
}

TEST(Control, StatusJsonFieldByField) {
  TempDir dir;
  Superd d(dir, service("app", {"--pause"}) + service("off", {"--pause"}, "enabled = false") +
                    service("broken", {"--exit", "3"}, "restart = \"never\""));
  const double before = unix_now();
  ASSERT_TRUE(d.start());
  ASSERT_TRUE(d.wait_state("app", "running"));
  ASSERT_TRUE(d.wait_state("broken", "fatal"));
  auto r = ctl(d, {"--json", "status"});
  EXPECT_EQ(r.exit_code, 3) << show(r);
  json doc = parse_json(r.out);
  ASSERT_TRUE(doc.is_object()) << r.out;
  ASSERT_TRUE(doc["services"].is_array()) << r.out;
  ASSERT_EQ(doc["services"].size(), 3u) << r.out;
  std::map<std::string, json> by_name;
  for (const auto& s : doc["services"]) by_name[s["name"].get<std::string>()] = s;
  const double after = unix_now();

  const json& app = by_name["app"];
  ASSERT_TRUE(app.is_object()) << r.out;
  for (const char* key : {"name", "state", "pid", "since", "uptime", "restarts", "enabled",
                          "desired", "last_exit", "reason"}) {
    EXPECT_TRUE(app.contains(key)) << key << " missing: " << app.dump();
  }
  EXPECT_EQ(app["state"], "running");
  ASSERT_TRUE(app["pid"].is_number_integer()) << app.dump();
  pid_t pid = app["pid"].get<pid_t>();
  EXPECT_TRUE(process_alive(proc_key(pid)));
  EXPECT_EQ(parent_of(pid), d.pid()) << "the pid is superd's child";
  ASSERT_TRUE(app["since"].is_number()) << app.dump();
  EXPECT_GE(app["since"].get<double>(), before - 1);
  EXPECT_LE(app["since"].get<double>(), after + 1);
  ASSERT_TRUE(app["uptime"].is_number()) << app.dump();
  EXPECT_GE(app["uptime"].get<double>(), 0.1 - 0.01) << "running after start_seconds";
  EXPECT_LE(app["uptime"].get<double>(), after - before + 1);
  EXPECT_EQ(app["restarts"], 0);
  EXPECT_EQ(app["enabled"], true);
  EXPECT_EQ(app["desired"], "up");
  EXPECT_EQ(app["last_exit"], "");
  EXPECT_TRUE(app["reason"].is_string()) << app.dump();

  const json& off = by_name["off"];
  EXPECT_EQ(off["state"], "stopped") << off.dump();
  EXPECT_EQ(off["pid"], 0);
  EXPECT_EQ(off["uptime"], 0);
  EXPECT_EQ(off["restarts"], 0);
  EXPECT_EQ(off["enabled"], false);
  EXPECT_EQ(off["desired"], "down");
  EXPECT_EQ(off["last_exit"], "");

  const json& broken = by_name["broken"];
  EXPECT_EQ(broken["state"], "fatal") << broken.dump();
  EXPECT_EQ(broken["pid"], 0);
  EXPECT_EQ(broken["enabled"], true);
  EXPECT_EQ(broken["last_exit"], "exited with status 3");
  EXPECT_NE(broken["reason"].get<std::string>().find("exited with status 3"), std::string::npos)
      << broken.dump();

  // Names select, in any position of --json.
  r = ctl(d, {"status", "--json", "app"});
  EXPECT_EQ(r.exit_code, 0) << show(r);
  doc = parse_json(r.out);
  ASSERT_TRUE(doc.is_object()) << r.out;
  ASSERT_EQ(doc["services"].size(), 1u);
  EXPECT_EQ(doc["services"][0]["name"], "app");
  EXPECT_EQ(doc["services"][0]["pid"], pid);
  r = ctl(d, {"--json", "status", "off"});
  EXPECT_EQ(r.exit_code, 3) << show(r);
  doc = parse_json(r.out);
  ASSERT_TRUE(doc.is_object()) << r.out;
  EXPECT_EQ(doc["services"][0]["state"], "stopped");
}

// ---- start, stop, restart ------------------------------------------------------------

TEST(Control, StartStopRestartReplyWhenTheTransitionHasFinished) {
  TempDir dir;
  Superd d(dir, service("a", {"--pause"}, "enabled = false\nstart_seconds = \"300ms\"") +
                    service("b", {"--pause"}, "enabled = false") +
                    // It exits at once; a start_seconds no slow start reaches keeps that a
                    // quick failure on any machine, under ASan too.
                    service("bad", {"--exit", "1"},
                            "enabled = false\nstart_retries = 2\nstart_seconds = \"60s\"\n"
                            "backoff = { initial = \"20ms\", max = \"20ms\" }"));
  ASSERT_TRUE(d.start());
  ASSERT_TRUE(d.wait_state("a", "stopped"));

  auto t0 = SteadyClock::now();
  auto r = ctl(d, {"start", "a"});
  auto took = since(t0);
  ASSERT_EQ(r.exit_code, 0) << show(r);
  pid_t a1 = pid_of(d, "a");
  ASSERT_GT(a1, 0);
  const ProcKey a1_key = proc_key(a1);
  EXPECT_EQ(r.out, "a: running (pid " + std::to_string(a1) + ")\n");
  EXPECT_EQ(r.err, "");
  EXPECT_GE(took, 290ms) << "start replies once running, after start_seconds";
  EXPECT_EQ(d.status("a")["state"], "running") << "running when start returned";

  r = ctl(d, {"start", "a"});  // already running: nothing to do
  EXPECT_EQ(r.exit_code, 0) << show(r);
  EXPECT_EQ(pid_of(d, "a"), a1);

  r = ctl(d, {"restart", "a"});
  ASSERT_EQ(r.exit_code, 0) << show(r);
  pid_t a2 = pid_of(d, "a");
  EXPECT_NE(a2, a1);
  EXPECT_GT(a2, 0);
  const ProcKey a2_key = proc_key(a2);
  EXPECT_FALSE(process_alive(a1_key)) << "the old process is gone when restart returns";
  EXPECT_EQ(r.out, "a: running (pid " + std::to_string(a2) + ")\n");
  EXPECT_EQ(d.status("a")["state"], "running");

  r = ctl(d, {"stop", "a"});
  ASSERT_EQ(r.exit_code, 0) << show(r);
  EXPECT_EQ(r.out, "a: stopped\n");
  EXPECT_FALSE(process_alive(a2_key)) << "stopped means its process is gone";
  EXPECT_EQ(d.status("a")["state"], "stopped");
  r = ctl(d, {"stop", "a"});
  EXPECT_EQ(r.exit_code, 0) << show(r);

  // Several names.
  r = ctl(d, {"start", "a", "b"});
  ASSERT_EQ(r.exit_code, 0) << show(r);
  pid_t pa = pid_of(d, "a"), pb = pid_of(d, "b");
  const ProcKey pa_key = proc_key(pa);
  EXPECT_EQ(r.out, "a: running (pid " + std::to_string(pa) + ")\nb: running (pid " +
                       std::to_string(pb) + ")\n");
  // --json: the daemon's result.
  r = ctl(d, {"--json", "restart", "b"});
  ASSERT_EQ(r.exit_code, 0) << show(r);
  json doc = parse_json(r.out);
  ASSERT_TRUE(doc.is_object()) << r.out;
  ASSERT_EQ(doc["services"].size(), 1u) << r.out;
  EXPECT_EQ(doc["services"][0]["name"], "b");
  EXPECT_EQ(doc["services"][0]["state"], "running");
  EXPECT_NE(doc["services"][0]["pid"], pb);
  EXPECT_EQ(doc["services"][0]["pid"], pid_of(d, "b"));
  pb = pid_of(d, "b");
  const ProcKey pb_key = proc_key(pb);

  // A failed start: exit 1, the reason on stderr and in the state line.
  r = ctl(d, {"start", "bad"});
  EXPECT_EQ(r.exit_code, 1) << show(r);
  EXPECT_EQ(d.status("bad")["state"], "fatal");
  EXPECT_EQ(r.out.rfind("bad: fatal (", 0), 0u) << r.out;
  EXPECT_NE(r.out.find("exited with status 1"), std::string::npos) << r.out;
  EXPECT_EQ(r.err.rfind("superctl: bad: fatal", 0), 0u) << r.err;
  EXPECT_NE(r.err.find("exited with status 1"), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << "one line: " << r.err;

  // An unknown name among known ones acts on none of them.
  r = ctl(d, {"stop", "a", "nope"});
  EXPECT_EQ(r.exit_code, 4) << show(r);
  EXPECT_EQ(r.err, "superctl: no service 'nope'\n");
  EXPECT_EQ(pid_of(d, "a"), pa);
  EXPECT_EQ(d.status("a")["state"], "running");

  // all.
  r = ctl(d, {"stop", "all"});
  ASSERT_EQ(r.exit_code, 0) << show(r);
  for (const char* name : {"a", "b", "bad"}) EXPECT_EQ(d.status(name)["state"], "stopped") << name;
  EXPECT_FALSE(process_alive(pa_key));
  EXPECT_FALSE(process_alive(pb_key));
  r = ctl(d, {"start", "all"});
  EXPECT_EQ(r.exit_code, 1) << "bad fails\n" << show(r);
  EXPECT_EQ(d.status("a")["state"], "running");
  EXPECT_EQ(d.status("b")["state"], "running");
  EXPECT_EQ(d.status("bad")["state"], "fatal");
  EXPECT_NE(r.err.find("bad"), std::string::npos) << r.err;
  pa = pid_of(d, "a");
  pb = pid_of(d, "b");
  r = ctl(d, {"restart", "a", "b"});
  ASSERT_EQ(r.exit_code, 0) << show(r);
  EXPECT_NE(pid_of(d, "a"), pa);
  EXPECT_NE(pid_of(d, "b"), pb);

  // Usage errors are caught by superctl itself.
  r = ctl(d, {"start"});
  EXPECT_EQ(r.exit_code, 1) << show(r);
  EXPECT_EQ(r.err.rfind("superctl: ", 0), 0u) << r.err;
}

// `echo '{"cmd":"restart",...}' | nc -U SOCKET`: the client shuts down its write side
// right after the request. Its answer comes only once the restart has finished, and it
// must still get it (the connection used to close at the EOF and drop it).
TEST(Control, ClientThatEndsItsInputStillGetsItsDeferredReply) {
  TempDir dir;
  Superd d(dir, service("a", {"--pause"}, "start_seconds = \"300ms\""));
  ASSERT_TRUE(d.start());
  ASSERT_TRUE(d.wait_state("a", "running"));
  const pid_t before = pid_of(d, "a");

  auto c = connect_client(d);
  ASSERT_TRUE(c);
  ASSERT_FALSE(c->send_raw(R"({"id":7,"cmd":"restart","args":{"names":["a"]}})" "\n"));
  ASSERT_EQ(::shutdown(c->fd(), SHUT_WR), 0);
  std::string error;
  auto reply = c->read_message(&error);
  ASSERT_TRUE(reply) << "no reply after the client's EOF: " << error;
  EXPECT_EQ((*reply)["id"], 7);
  EXPECT_EQ((*reply)["ok"], true) << reply->dump();
  const pid_t after = pid_of(d, "a");
  EXPECT_NE(after, before);
  EXPECT_EQ((*reply)["result"]["services"][0]["pid"], after);
  // The reply came once the new process was running, start_seconds after its start.
  EXPECT_EQ((*reply)["result"]["services"][0]["state"], "running") << reply->dump();
  EXPECT_GE((*reply)["result"]["services"][0].value("uptime", 0.0), 0.3 - 0.002) << reply->dump();
  // Then the connection ends: nothing more is owed.
  EXPECT_FALSE(c->read_message(&error)) << "the server closes after the last reply";
}

TEST(Control, RestartStartsAStoppedServiceAndStopWaitsForTheKill) {
  TempDir dir;
  Superd d(dir, service("a", {"--pause"}, "enabled = false") +
                    service("stubborn", {"--ignore-term", "--pause"}, "stop_timeout = \"400ms\""));
  ASSERT_TRUE(d.start());
  ASSERT_TRUE(d.wait_state("stubborn", "running"));
  auto r = ctl(d, {"restart", "a"});
  EXPECT_EQ(r.exit_code, 0) << "restart of a stopped service starts it\n" << show(r);
  EXPECT_EQ(d.status("a")["state"], "running");

  // stop returns once the process is gone: here only after stop_timeout and SIGKILL.
  const pid_t pid = pid_of(d, "stubborn");
  const ProcKey pid_key = proc_key(pid);
  auto t0 = SteadyClock::now();
  r = ctl(d, {"stop", "stubborn"});
  const auto took = since(t0);
  EXPECT_EQ(r.exit_code, 0) << show(r);
  EXPECT_EQ(r.out, "stubborn: stopped\n");
  EXPECT_GE(took, 390ms) << "TERM is ignored; KILL comes after stop_timeout";
  EXPECT_NE(d.daemon_log().find("stubborn: stopping (stop_timeout (400ms) passed; sent KILL"),
            std::string::npos)
      << d.daemon_log();
  EXPECT_FALSE(process_alive(pid_key)) << "gone when stop returned";
  EXPECT_EQ(d.status("stubborn")["state"], "stopped");
  EXPECT_EQ(d.status("stubborn")["last_exit"], "killed by signal KILL");
}

TEST(Control, StatusIsColouredOnlyOnATerminal) {
  TempDir dir;
  Superd d(dir, service("app", {"--pause"}));
  ASSERT_TRUE(d.start());
  ASSERT_TRUE(d.wait_state("app", "running"));
  auto r = ctl(d, {"status"});
  ASSERT_EQ(r.exit_code, 0) << show(r);
  EXPECT_EQ(r.out.find('\x1b'), std::string::npos) << "no escape codes into a pipe: " << r.out;

  // On a terminal: the state in colour; with NO_COLOR, none.
  auto on_pty = [&](const std::vector<std::string>& env) {
    std::vector<std::string> argv = {superctl_bin(), "-s", d.socket(), "status"};
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    std::vector<std::string> env_strings = {"TERM=xterm", "PATH=/usr/bin:/bin"};
    env_strings.insert(env_strings.end(), env.begin(), env.end());
    std::vector<char*> envp;
    for (auto& e : env_strings) envp.push_back(e.data());
    envp.push_back(nullptr);
    int master = -1;
    pid_t pid = ::forkpty(&master, nullptr, nullptr, nullptr);
    if (pid == 0) {
      ::execve(args[0], args.data(), envp.data());
      _exit(127);
    }
    std::string text;
    char buf[4096];
    for (auto t0 = SteadyClock::now(); since(t0) < 5s;) {
      pollfd p{master, POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) {
        if (::waitpid(pid, nullptr, WNOHANG) == pid) {
          pid = -1;
          break;
        }
        continue;
      }
      ssize_t n = ::read(master, buf, sizeof buf);
      if (n <= 0) break;  // EIO once the child has gone
      text.append(buf, static_cast<size_t>(n));
    }
    if (pid > 0) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
    ::close(master);
    return text;
  };
  std::string coloured = on_pty({});
  EXPECT_NE(coloured.find("\x1b[32mrunning\x1b[0m"), std::string::npos) << coloured;
  std::string plain = on_pty({"NO_COLOR=1"});
  EXPECT_NE(plain.find("running"), std::string::npos) << plain;
  EXPECT_EQ(plain.find('\x1b'), std::string::npos) << plain;
}

TEST(Control, ConcurrentRestartsBothReturnAndPendingStartIsAnsweredAtShutdown) {
  TempDir dir;
  Superd d(dir, service("app", {"--pause"}, "start_seconds = \"300ms\"") +
                    service("slow", {"--pause"}, "enabled = false\nstart_seconds = \"3s\""));
  ASSERT_TRUE(d.start());
  ASSERT_TRUE(d.wait_state("app", "running"));
  const pid_t first = pid_of(d, "app");
  RunResult r1, r2;
  std::thread t1([&] { r1 = ctl(d, {"restart", "app"}); });
  std::thread t2([&] { r2 = ctl(d, {"restart", "app"}); });
  t1.join();
  t2.join();
  EXPECT_EQ(r1.exit_code, 0) << show(r1);
  EXPECT_EQ(r2.exit_code, 0) << show(r2);
  EXPECT_EQ(d.status("app")["state"], "running");
  EXPECT_NE(pid_of(d, "app"), first);

  // A start still waiting for start_seconds when superd is told to shut down gets an
  // answer: superctl does not hang on a daemon that has gone.
  const std::string out = dir / "start.out";
  Background starter({superctl_bin(), "-s", d.socket(), "start", "slow"}, out);
  ASSERT_TRUE(d.wait_state("slow", "starting"));
  auto r = ctl(d, {"shutdown"});
  EXPECT_EQ(r.exit_code, 0) << show(r);
  EXPECT_TRUE(wait_until([&] { return !starter.running(); }, 10s))
      << "superctl start still waiting after shutdown: " << read_file(out);
  EXPECT_TRUE(wait_until([&] { return !d.alive(); }, 10s)) << "superd exits by itself";
  EXPECT_EQ(d.stop(), 0) << d.daemon_log();
}

// ---- reload and signal -------------------------------------------------------------

TEST(Control, ReloadSendsReloadSignalAndSignalSendsAnySignal) {
  TempDir dir;
  Superd d(dir,
           service("app", {"--hup-print", "got HUP", "--usr1-print", "got USR1", "--pause"}) +
               service("usr", {"--usr1-print", "got USR1", "--pause"}, "reload_signal = \"USR1\"") +
               service("off", {"--pause"}, "enabled = false"));
  ASSERT_TRUE(d.start());
  ASSERT_TRUE(d.wait_state("app", "running"));
  ASSERT_TRUE(d.wait_state("usr", "running"));
  const std::string app_log = d.log_dir() + "/app.log";
  const std::string usr_log = d.log_dir() + "/usr.log";
  auto count = [](const std::string& path, const std::string& what) {
    std::string text = read_file(path);
    size_t n = 0;
    for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
    return n;
  };
  pid_t app = pid_of(d, "app");
  const ProcKey app_key = proc_key(app);

  auto r = ctl(d, {"reload", "app"});
  EXPECT_EQ(r.exit_code, 0) << show(r);
  EXPECT_TRUE(wait_until([&] { return count(app_log, "got HUP") == 1; }, 5s)) << read_file(app_log);
  EXPECT_EQ(pid_of(d, "app"), app) << "reload does not restart";

  r = ctl(d, {"reload", "usr"});
  EXPECT_EQ(r.exit_code, 0) << show(r);
  EXPECT_TRUE(wait_until([&] { return count(usr_log, "got USR1") == 1; }, 5s))
      << "reload_signal = USR1: " << read_file(usr_log);

  r = ctl(d, {"reload", "all"});  // off is not running
  EXPECT_EQ(r.exit_code, 1) << show(r);
  EXPECT_NE(r.err.find("off is not running"), std::string::npos) << r.err;
  EXPECT_TRUE(wait_until([&] { return count(app_log, "got HUP") == 2; }, 5s)) << read_file(app_log);
  EXPECT_TRUE(wait_until([&] { return count(usr_log, "got USR1") == 2; }, 5s));

  // signal, by name, SIG-name and number.
  int n = 0;
  for (const char* sig : {"USR1", "SIGUSR1", "10", "usr1"}) {
    r = ctl(d, {"signal", sig, "app"});
    EXPECT_EQ(r.exit_code, 0) << sig << "\n" << show(r);
    EXPECT_EQ(r.out, "") << sig;
    ++n;
    EXPECT_TRUE(wait_until([&] { return count(app_log, "got USR1") == size_t(n); }, 5s))
        << sig << ": " << read_file(app_log);
  }
  r = ctl(d, {"--json", "signal", "HUP", "app", "usr"});
  EXPECT_EQ(r.exit_code, 0) << show(r);
  json doc = parse_json(r.out);
  ASSERT_TRUE(doc.is_object()) << r.out;
  ASSERT_EQ(doc["services"].size(), 2u) << r.out;
  EXPECT_EQ(doc["services"][0]["name"], "app");
  EXPECT_EQ(doc["services"][1]["name"], "usr");
  EXPECT_TRUE(wait_until([&] { return count(app_log, "got HUP") == 3; }, 5s));

  r = ctl(d, {"signal", "BOGUS", "app"});
  EXPECT_EQ(r.exit_code, 1) << show(r);
  EXPECT_EQ(r.err.rfind("superctl: ", 0), 0u) << r.err;
  EXPECT_NE(r.err.find("'BOGUS'"), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  r = ctl(d, {"signal", "USR1", "off"});
  EXPECT_EQ(r.exit_code, 1) << show(r);
  EXPECT_EQ(r.err, "superctl: off is not running\n");
  r = ctl(d, {"signal", "USR1", "nope"});
  EXPECT_EQ(r.exit_code, 4) << show(r);
  EXPECT_EQ(r.err, "superctl: no service 'nope'\n");
  r = ctl(d, {"reload", "nope"});
  EXPECT_EQ(r.exit_code, 4) << show(r);

  // KILL ends it; superd respawns it.
  r = ctl(d, {"signal", "KILL", "app"});
  EXPECT_EQ(r.exit_code, 0) << show(r);
  pid_t again = d.wait_new_pid("app", app);
  ASSERT_GT(again, 0) << d.daemon_log();
  EXPECT_FALSE(process_alive(app_key));
  auto st = d.status("app");
  EXPECT_EQ(st["last_exit"], "killed by signal KILL");
  EXPECT_EQ(st["restarts"], 1);
}

// ---- enable / disable ---------------------------------------------------------------

TEST(Control, EnableDisableWithAndWithoutNow) {
  TempDir dir;
  Superd d(dir, service("app", {"--pause"}) + service("off", {"--pause"}, "enabled = false"));
  ASSERT_TRUE(d.start());
  ASSERT_TRUE(d.wait_state("app", "running"));
  pid_t app = pid_of(d, "app");
  const ProcKey app_key = proc_key(app);
  const std::string state_file = d.state_dir() + "/enabled.json";

  auto r = ctl(d, {"disable", "app"});
  ASSERT_EQ(r.exit_code, 0) << show(r);
  EXPECT_EQ(r.out, "app: running (pid " + std::to_string(app) + ")\n")
      << "without --now it runs on";
  EXPECT_EQ(pid_of(d, "app"), app);
  EXPECT_EQ(d.status("app")["enabled"], false);
  EXPECT_EQ(parse_json(read_file(state_file)), json({{"app", false}})) << read_file(state_file);

  r = ctl(d, {"disable", "--now", "app"});
  ASSERT_EQ(r.exit_code, 0) << show(r);
  EXPECT_EQ(r.out, "app: stopped\n");
  EXPECT_FALSE(process_alive(app_key));
  EXPECT_EQ(d.status("app")["state"], "stopped");
  r = ctl(d, {"status"});
  EXPECT_EQ(r.exit_code, 0) << "nothing enabled is down\n" << show(r);

  r = ctl(d, {"enable", "off"});
  ASSERT_EQ(r.exit_code, 0) << show(r);
  EXPECT_EQ(d.status("off")["enabled"], true);
  EXPECT_EQ(d.status("off")["state"], "stopped") << "without --now it is not started";
  r = ctl(d, {"status"});
  EXPECT_EQ(r.exit_code, 3) << "off is enabled and down\n" << show(r);

  r = ctl(d, {"enable", "--now", "app", "off"});
  ASSERT_EQ(r.exit_code, 0) << show(r);
  pid_t app2 = pid_of(d, "app"), off = pid_of(d, "off");
  ASSERT_GT(app2, 0);
  ASSERT_GT(off, 0);
  EXPECT_EQ(r.out, "app: running (pid " + std::to_string(app2) + ")\noff: running (pid " +
                       std::to_string(off) + ")\n");
  EXPECT_EQ(parse_json(read_file(state_file)), json({{"app", true}, {"off", true}}));

  r = ctl(d, {"--json", "disable", "off"});
  ASSERT_EQ(r.exit_code, 0) << show(r);
  json doc = parse_json(r.out);
  ASSERT_TRUE(doc.is_object()) << r.out;
  EXPECT_EQ(doc["services"][0]["name"], "off");
  EXPECT_EQ(doc["services"][0]["enabled"], false);
  EXPECT_EQ(doc["services"][0]["state"], "running");

  r = ctl(d, {"disable", "all"});
  ASSERT_EQ(r.exit_code, 0) << show(r);
  EXPECT_EQ(parse_json(read_file(state_file)), json({{"app", false}, {"off", false}}));
  r = ctl(d, {"enable", "all"});
  ASSERT_EQ(r.exit_code, 0) << show(r);
  EXPECT_EQ(parse_json(read_file(state_file)), json({{"app", true}, {"off", true}}));

  r = ctl(d, {"enable", "nope"});
  EXPECT_EQ(r.exit_code, 4) << show(r);
  EXPECT_EQ(r.err, "superctl: no service 'nope'\n");
  r = ctl(d, {"disable", "--now", "app", "nope"});
  EXPECT_EQ(r.exit_code, 4) << show(r);
  EXPECT_EQ(pid_of(d, "app"), app2) << "a typo acts on nothing";
  EXPECT_EQ(d.status("app")["enabled"], true);
}

TEST(Control, EnableDisableSurvivesASuperdRestart) {
  TempDir dir;
  const std::string services = service("a", {"--pause"}) +  // enabled in the config
                               service("b", {"--pause"}, "enabled = false");
  {
    Superd d(dir, services);
    ASSERT_TRUE(d.start());
    ASSERT_TRUE(d.wait_state("a", "running"));
    auto r = ctl(d, {"disable", "a"});
    ASSERT_EQ(r.exit_code, 0) << show(r);
    r = ctl(d, {"enable", "b"});
    ASSERT_EQ(r.exit_code, 0) << show(r);
    EXPECT_EQ(d.status("b")["state"], "stopped");
    ASSERT_EQ(d.stop(), 0) << d.daemon_log();
  }
  Superd d(dir, services);
  ASSERT_TRUE(d.start());
  ASSERT_TRUE(d.wait_state("b", "running")) << "enabled by superctl, though not in the config\n"
                                            << d.daemon_log();
  auto a = d.status("a");
  EXPECT_EQ(a["state"], "stopped") << "disabled by superctl, though enabled in the config";
  EXPECT_EQ(a["enabled"], false);
  EXPECT_EQ(a["pid"], 0);
  EXPECT_EQ(d.status("b")["enabled"], true);
  auto r = ctl(d, {"status"});
  EXPECT_EQ(r.exit_code, 0) << show(r);
  // Once more, the other way round.
  r = ctl(d, {"enable", "a"});
  ASSERT_EQ(r.exit_code, 0) << show(r);
  r = ctl(d, {"disable", "b"});
  ASSERT_EQ(r.exit_code, 0) << show(r);
  ASSERT_EQ(d.stop(), 0);
  Superd d2(dir, services);
  ASSERT_TRUE(d2.start());
  ASSERT_TRUE(d2.wait_state("a", "running")) << d2.daemon_log();
  EXPECT_EQ(d2.status("b")["state"], "stopped");
  EXPECT_EQ(d2.status("b")["enabled"], false);
}

TEST(Control, StateFileIsNeverHalfWritten) {
  TempDir dir;
  std::string services;
  for (int i = 0; i < 10; ++i)
    services += service("s" + std::to_string(i), {"--pause"}, "enabled = false");
  Superd d(dir, services);
  ASSERT_TRUE(d.start());
  const std::string state_file = d.state_dir() + "/enabled.json";

  std::atomic<bool> stop{false};
  std::atomic<int> reads{0}, bad{0}, vanished{0};
  std::string bad_text;
  std::thread reader([&] {
    bool seen = false;
    while (!stop) {
      std::ifstream in(state_file);
      if (!in) {
        if (seen) ++vanished;
        continue;
      }
      std::stringstream s;
      s << in.rdbuf();
      seen = true;
      ++reads;
      json doc = json::parse(s.str(), nullptr, false);
      if (!doc.is_object()) {
        if (bad++ == 0) bad_text = s.str();
      }
    }
  });
  auto c = connect_client(d);
  ASSERT_TRUE(c);
  std::map<std::string, bool> expected;
  for (int i = 0; i < 300; ++i) {
    std::string name = "s" + std::to_string(i % 10);
    bool enable = (i / 10) % 2 == 0;
    json reply = request(*c, enable ? "enable" : "disable", {{"names", {name}}});
    ASSERT_EQ(reply.value("ok", false), true) << reply.dump();
    expected[name] = enable;
  }
  stop = true;
  reader.join();
  EXPECT_EQ(bad, 0) << "a reader saw a half-written state file: " << bad_text;
  EXPECT_EQ(vanished, 0) << "the state file disappeared between writes";
  EXPECT_GT(reads, 0);
  json final_doc = parse_json(read_file(state_file));
  json want(expected);
  EXPECT_EQ(final_doc, want);
  for (const auto& e : std::filesystem::directory_iterator(d.state_dir())) {
    const std::string name = e.path().filename().string();
    EXPECT_EQ(name.find(".tmp"), std::string::npos) << "left over: " << name;
  }

  // A crash in the middle of a storm of writes leaves the old file or the new one.
  std::atomic<bool> storm_done{false};
  std::atomic<int> stormed{0};
  std::thread storm([&] {
    auto s = std::make_unique<ipc::Client>();
    s->set_timeout(2s);
    if (s->connect(d.socket())) return;
    for (int i = 0; i < 10000 && !storm_done; ++i) {
      auto reply =
          s->request(i % 2 ? "enable" : "disable", {{"names", {"s" + std::to_string(i % 10)}}});
      if (!std::get_if<json>(&reply)) break;  // superd is gone
      ++stormed;
    }
  });
  // In the middle of the storm: after some writes, with more on the way.
  EXPECT_TRUE(wait_until([&] { return stormed >= 50; })) << stormed;
  d.kill_hard();
  storm_done = true;
  storm.join();
  json after_crash = parse_json(read_file(state_file));
  ASSERT_TRUE(after_crash.is_object()) << read_file(state_file);
  EXPECT_EQ(after_crash.size(), 10u) << after_crash.dump();
  // And the next superd reads it.
  ASSERT_TRUE(d.start()) << d.daemon_log();
  for (const auto& [name, enabled] : after_crash.items()) {
    EXPECT_EQ(d.status(name)["enabled"], enabled.get<bool>()) << name;
  }
}

// ---- reload-config ------------------------------------------------------------------

TEST(Control, ReloadConfigAppliesOnlyTheDiff) {
  TempDir dir;
  const std::string keep = service("keep", {"--pause"});
  Superd d(dir, keep + service("change", {"--print", "v1", "--pause"}) +
                    service("gone", {"--pause"}) +
                    service("idle", {"--print", "v1", "--pause"}, "enabled = false"));
  ASSERT_TRUE(d.start());
  for (const char* name : {"keep", "change", "gone"})
    ASSERT_TRUE(d.wait_state(name, "running")) << name;
  const pid_t keep_pid = pid_of(d, "keep"), change_pid = pid_of(d, "change"),
              gone_pid = pid_of(d, "gone");
  const ProcKey change_key = proc_key(change_pid), gone_key = proc_key(gone_pid);

  d.rewrite_services(keep + service("change", {"--print", "v2", "--pause"}) +
                     service("added", {"--pause"}) +
                     service("added_off", {"--pause"}, "enabled = false") +
                     service("idle", {"--print", "v2", "--pause"}, "enabled = false"));
  auto r = ctl(d, {"reload-config"});
  ASSERT_EQ(r.exit_code, 0) << show(r) << d.daemon_log();
  EXPECT_EQ(r.out, "added: added added_off\nremoved: gone\nchanged: change idle\n");
  EXPECT_EQ(r.err, "");
  EXPECT_EQ(pid_of(d, "keep"), keep_pid) << "unchanged keeps its pid";
  pid_t new_change = d.wait_new_pid("change", change_pid);
  EXPECT_GT(new_change, 0) << d.daemon_log();
  EXPECT_TRUE(wait_until([&] { return !process_alive(change_key); }, 5s));
  EXPECT_TRUE(wait_until([&] { return !process_alive(gone_key); }, 5s)) << "removed: stopped";
  EXPECT_TRUE(d.wait_state("added", "running")) << d.daemon_log();
  EXPECT_EQ(d.status("added_off")["state"], "stopped") << "added but not enabled";
  EXPECT_EQ(d.status("idle")["state"], "stopped") << "changed while down: stays down";
  EXPECT_TRUE(wait_until(
      [&] { return read_file(d.log_dir() + "/change.log").find("v2\n") != std::string::npos; },
      5s));
  r = ctl(d, {"status", "gone"});
  EXPECT_EQ(r.exit_code, 4) << show(r);
  EXPECT_EQ(pid_of(d, "keep"), keep_pid);

  // The same file again: nothing changes, every service unchanged.
  const pid_t added_pid = pid_of(d, "added");
  r = ctl(d, {"--json", "reload-config"});
  ASSERT_EQ(r.exit_code, 0) << show(r);
  json doc = parse_json(r.out);
  ASSERT_TRUE(doc.is_object()) << r.out;
  EXPECT_EQ(doc["added"], json::array());
  EXPECT_EQ(doc["removed"], json::array());
  EXPECT_EQ(doc["changed"], json::array());
  std::set<std::string> unchanged;
  for (const auto& n : doc["unchanged"]) unchanged.insert(n.get<std::string>());
  EXPECT_EQ(unchanged, (std::set<std::string>{"keep", "change", "added", "added_off", "idle"}));
  r = ctl(d, {"reload-config"});
  EXPECT_EQ(r.exit_code, 0) << show(r);
  EXPECT_EQ(r.out, "no changes\n");
  EXPECT_EQ(pid_of(d, "keep"), keep_pid);
  EXPECT_EQ(pid_of(d, "change"), new_change);
  EXPECT_EQ(pid_of(d, "added"), added_pid);
}

TEST(Control, BrokenReloadConfigChangesNothingAndListsEveryLocation) {
  TempDir dir;
  const std::string good = service("one", {"--pause"}) + service("two", {"--pause"});
  Superd d(dir, good);
  ASSERT_TRUE(d.start());
  ASSERT_TRUE(d.wait_state("one", "running"));
  ASSERT_TRUE(d.wait_state("two", "running"));
  const pid_t one = pid_of(d, "one"), two = pid_of(d, "two");

  // Three problems: an unknown key, a wrong type, a missing executable; plus a new
  // service that must not start and a removed one that must not stop.
  d.rewrite_services(service("one", {"--pause"}, "bogus_key = 1") +
                     service("three", {"--pause"}, "restart = 5") +
                     "[service.four]\ncommand = [\"/nonexistent/program\"]\n");
  const std::string cfg = d.config_path();
  const int bogus_line = line_of(cfg, "bogus_key");
  const int restart_line = line_of(cfg, "restart = 5");
  const int missing_line = line_of(cfg, "/nonexistent/program");
  ASSERT_GT(bogus_line, 0);
  auto check = run({superd_bin(), "--check", "-c", cfg});
  EXPECT_EQ(check.exit_code, 1) << show(check);

  auto r = ctl(d, {"reload-config"});
  EXPECT_EQ(r.exit_code, 1) << show(r);
  EXPECT_EQ(r.out, "");
  auto err_lines = split_lines(r.err);
  ASSERT_GE(err_lines.size(), 4u) << r.err;
  EXPECT_EQ(err_lines.back(), "superctl: invalid configuration; nothing changed") << r.err;
  const std::string at_bogus = cfg + ":" + std::to_string(bogus_line) + ":";
  const std::string at_restart = cfg + ":" + std::to_string(restart_line) + ":";
  const std::string at_missing = cfg + ":" + std::to_string(missing_line) + ":";
  auto has_line_starting = [&](const std::string& prefix) {
    return std::any_of(err_lines.begin(), err_lines.end(),
                       [&](const std::string& l) { return l.rfind(prefix, 0) == 0; });
  };
  EXPECT_TRUE(has_line_starting(at_bogus)) << at_bogus << "\n" << r.err;
  EXPECT_TRUE(has_line_starting(at_restart)) << at_restart << "\n" << r.err;
  EXPECT_TRUE(has_line_starting(at_missing)) << at_missing << "\n" << r.err;
  EXPECT_EQ(err_lines.size(), 4u) << "one line per problem, then the verdict\n" << r.err;
  // Every problem line is FILE:LINE:COL: message, and they are what --check reports.
  std::regex located("^" +
                     std::regex_replace(cfg, std::regex(R"([.^$|()\[\]{}*+?\\/])"), R"(\$&)") +
                     R"(:[0-9]+:[0-9]+: .+$)");
  for (size_t i = 0; i + 1 < err_lines.size(); ++i) {
    EXPECT_TRUE(std::regex_match(err_lines[i], located)) << err_lines[i];
    EXPECT_TRUE(check.err.find(err_lines[i]) != std::string::npos ||
                check.out.find(err_lines[i]) != std::string::npos)
        << "superd --check says the same: " << err_lines[i] << "\n"
        << show(check);
  }

  // Nothing changed.
  EXPECT_EQ(pid_of(d, "one"), one);
  EXPECT_EQ(pid_of(d, "two"), two);
  EXPECT_EQ(d.status("two")["state"], "running") << "not removed";
  EXPECT_TRUE(d.unknown("three")) << "not added: " << d.status("three").dump();
  r = ctl(d, {"--json", "reload-config"});
  EXPECT_EQ(r.exit_code, 1) << show(r);
  EXPECT_NE(r.err.find(at_bogus), std::string::npos) << r.err;

  // Over the raw socket: code invalid_config, errors one per entry.
  auto c = connect_client(d);
  ASSERT_TRUE(c);
  json reply = request(*c, "reload-config");
  EXPECT_EQ(reply["ok"], false) << reply.dump();
  EXPECT_EQ(reply["error"]["code"], "invalid_config") << reply.dump();
  ASSERT_TRUE(reply["error"]["errors"].is_array()) << reply.dump();
  EXPECT_EQ(reply["error"]["errors"].size(), err_lines.size() - 1) << reply.dump();
  EXPECT_EQ(pid_of(d, "one"), one);
  EXPECT_EQ(pid_of(d, "two"), two);

  // A config file that has gone: an error naming it, nothing changed.
  ASSERT_EQ(::unlink(cfg.c_str()), 0);
  r = ctl(d, {"reload-config"});
  EXPECT_EQ(r.exit_code, 1) << show(r);
  EXPECT_NE(r.err.find(cfg), std::string::npos) << r.err;
  EXPECT_EQ(pid_of(d, "one"), one);
  EXPECT_EQ(pid_of(d, "two"), two);
  EXPECT_TRUE(d.alive());
}

TEST(Control, SighupIsReloadConfig) {
  TempDir dir;
  const std::string keep = service("keep", {"--pause"});
  Superd d(dir, keep + service("gone", {"--pause"}));
  ASSERT_TRUE(d.start());
  ASSERT_TRUE(d.wait_state("keep", "running"));
  ASSERT_TRUE(d.wait_state("gone", "running"));
  const pid_t keep_pid = pid_of(d, "keep"), gone_pid = pid_of(d, "gone");
  const ProcKey gone_key = proc_key(gone_pid);

  d.rewrite_services(keep + service("added", {"--pause"}));
  ASSERT_EQ(::kill(d.pid(), SIGHUP), 0);
  EXPECT_TRUE(d.wait_state("added", "running")) << d.daemon_log();
  EXPECT_TRUE(wait_until([&] { return !process_alive(gone_key); }, 5s));
  EXPECT_TRUE(d.unknown("gone")) << d.status("gone").dump();
  EXPECT_EQ(pid_of(d, "keep"), keep_pid);
  const pid_t added_pid = pid_of(d, "added");

  // A broken file on SIGHUP: nothing changes, the problems are in superd's log.
  d.rewrite_services(keep + service("added", {"--pause"}, "bogus_key = 1") +
                     service("more", {"--pause"}));
  const int bogus_line = line_of(d.config_path(), "bogus_key");
  const std::string where = d.config_path() + ":" + std::to_string(bogus_line) + ":";
  ASSERT_EQ(::kill(d.pid(), SIGHUP), 0);
  EXPECT_TRUE(wait_until([&] { return d.daemon_log().find(where) != std::string::npos; }, 5s))
      << where << "\n"
      << d.daemon_log();
  EXPECT_TRUE(d.alive());
  EXPECT_EQ(pid_of(d, "keep"), keep_pid);
  EXPECT_EQ(pid_of(d, "added"), added_pid);
  EXPECT_TRUE(d.unknown("more")) << d.status("more").dump();
}

// ---- log ---------------------------------------------------------------------------

std::string numbered(int i, int width) {
  std::string line = "line " + std::to_string(i) + " ";
  while (static_cast<int>(line.size()) < width - 1) line += 'x';
  return line;
}

TEST(Control, LogPrintsExactlyTheLastLines) {
  TempDir dir;
  Superd d(dir, service("app", {"--line-bytes", "20", "--lines", "30", "--pause"}) +
                    service("rot", {"--line-bytes", "100", "--lines", "50", "--pause"},
                            "log_max_bytes = 2000\nlog_backups = 3"));
  ASSERT_TRUE(d.start());
  const std::string app_log = d.log_dir() + "/app.log";
  ASSERT_TRUE(wait_until(
      [&] { return read_file(app_log).find(numbered(30, 20) + "\n") != std::string::npos; }, 5s))
      << read_file(app_log);

  auto r = ctl(d, {"log", "app", "-n", "5"});
  EXPECT_EQ(r.exit_code, 0) << show(r);
  std::string want;
  for (int i = 26; i <= 30; ++i) want += numbered(i, 20) + "\n";
  EXPECT_EQ(r.out, want);
  EXPECT_EQ(r.err, "");

  r = ctl(d, {"log", "app", "--lines", "1"});
  EXPECT_EQ(r.out, numbered(30, 20) + "\n") << show(r);
  r = ctl(d, {"log", "app", "-n", "0"});
  EXPECT_EQ(r.exit_code, 0) << show(r);
  EXPECT_EQ(r.out, "");
  r = ctl(d, {"log", "app"});  // the default: 10
  EXPECT_EQ(r.exit_code, 0) << show(r);
  want.clear();
  for (int i = 21; i <= 30; ++i) want += numbered(i, 20) + "\n";
  EXPECT_EQ(r.out, want);
  r = ctl(d, {"log", "app", "-n", "1000"});
  EXPECT_EQ(split_lines(r.out).size(), 30u) << "the whole file when it is shorter\n" << r.out;
  r = ctl(d, {"--json", "log", "app", "-n", "2"});
  EXPECT_EQ(r.exit_code, 0) << show(r);
  json doc = parse_json(r.out);
  ASSERT_TRUE(doc.is_object()) << r.out;
  EXPECT_EQ(doc["lines"], json({numbered(29, 20), numbered(30, 20)})) << r.out;

  r = ctl(d, {"log", "nope"});
  EXPECT_EQ(r.exit_code, 4) << show(r);
  EXPECT_EQ(r.err, "superctl: no service 'nope'\n");
  r = ctl(d, {"log", "app", "-n", "-3"});
  EXPECT_EQ(r.exit_code, 1) << show(r);

  // Across a rotation: the tail continues into the newest rotated file.
  const std::string rot_log = d.log_dir() + "/rot.log";
  ASSERT_TRUE(wait_until(
      [&] { return read_file(rot_log).find(numbered(50, 100) + "\n") != std::string::npos; }, 5s))
      << read_file(rot_log);
  ASSERT_TRUE(file_exists(rot_log + ".1")) << "rotated at 2000 bytes";
  const size_t current = split_lines(read_file(rot_log)).size();
  const size_t rotated = split_lines(read_file(rot_log + ".1")).size();
  ASSERT_LT(current, 20u);
  const int n = static_cast<int>(current + std::min<size_t>(rotated, 5));
  r = ctl(d, {"log", "rot", "-n", std::to_string(n)});
  EXPECT_EQ(r.exit_code, 0) << show(r);
  want.clear();
  for (int i = 50 - n + 1; i <= 50; ++i) want += numbered(i, 100) + "\n";
  EXPECT_EQ(r.out, want) << "current " << current << " lines, .1 " << rotated;
}

TEST(Control, LogFollowGetsNewLinesAcrossRotations) {
  TempDir dir;
  Superd d(dir, service("app",
                        {"--print", "begin", "--line-bytes", "50", "--lines", "300", "--hup-print",
                         "marker", "--pause"},
                        "log_max_bytes = 4000\nlog_backups = 2"));
  ASSERT_TRUE(d.start());
  const std::string log = d.log_dir() + "/app.log";
  ASSERT_TRUE(d.wait_state("app", "running"));
  ASSERT_TRUE(
      wait_until([&] { return read_file(log).find(numbered(300, 50)) != std::string::npos; }, 5s))
      << read_file(log);
  const pid_t first = pid_of(d, "app");

  const std::string out = dir / "follow.out";
  Background follower({superctl_bin(), "-s", d.socket(), "log", "app", "-f", "-n", "1"}, out);
  // The last line first, then it is following.
  ASSERT_TRUE(wait_until([&] { return read_file(out) == numbered(300, 50) + "\n"; }, 5s))
      << read_file(out);
  struct stat before {};
  ASSERT_EQ(::stat(log.c_str(), &before), 0);

  // A new process writes 15 KB: three rotations while following.
  auto r = ctl(d, {"restart", "app"});
  ASSERT_EQ(r.exit_code, 0) << show(r);
  ASSERT_NE(pid_of(d, "app"), first);
  auto count_last = [&] {
    const std::string text = read_file(out);
    const std::string last = numbered(300, 50) + "\n";
    size_t n = 0;
    for (size_t at = text.find(last); at != std::string::npos; at = text.find(last, at + 1)) ++n;
    return n;
  };
  ASSERT_TRUE(wait_until([&] { return count_last() == 2; }, 5s)) << read_file(out);
  r = ctl(d, {"reload", "app"});
  ASSERT_EQ(r.exit_code, 0) << show(r);
  ASSERT_TRUE(wait_until([&] { return read_file(out).find("marker\n") != std::string::npos; }, 5s))
      << read_file(out);
  EXPECT_TRUE(follower.running()) << "follow runs until the client goes";

  std::string want = numbered(300, 50) + "\nbegin\n";
  for (int i = 1; i <= 300; ++i) want += numbered(i, 50) + "\n";
  want += "marker\n";
  EXPECT_EQ(read_file(out), want);
  struct stat after {};
  ASSERT_EQ(::stat(log.c_str(), &after), 0);
  EXPECT_NE(before.st_ino, after.st_ino) << "the log was rotated while following";
  EXPECT_TRUE(file_exists(log + ".1"));

  follower.stop();
  // superd is unaffected by the follower going away, and the output still flows.
  r = ctl(d, {"reload", "app"});
  EXPECT_EQ(r.exit_code, 0) << show(r);
  EXPECT_TRUE(wait_until(
      [&] {
        std::string text = read_file(log);
        return text.find("marker\nmarker\n") != std::string::npos;
      },
      5s))
      << read_file(log);
  r = ctl(d, {"status", "app"});
  EXPECT_EQ(r.exit_code, 0) << show(r);
}

TEST(Control, LogReplacesInvalidUtf8) {
  TempDir dir;
  Superd d(
      dir,
      "[service.app]\ncommand = [\"/bin/sh\", \"-c\", \"printf 'bad \\\\377 byte\\\\n'; exec " +
          testprog() + " --print after --pause\"]\nstart_seconds = \"100ms\"\n");
  ASSERT_TRUE(d.start());
  ASSERT_TRUE(d.wait_state("app", "running"));
  ASSERT_TRUE(wait_until(
      [&] { return read_file(d.log_dir() + "/app.log").find("after\n") != std::string::npos; }, 5s))
      << read_file(d.log_dir() + "/app.log") << d.daemon_log();
  auto r = ctl(d, {"log", "app", "-n", "2"});
  EXPECT_EQ(r.exit_code, 0) << show(r);
  EXPECT_EQ(r.out, "bad \xEF\xBF\xBD byte\nafter\n") << "U+FFFD for the bad byte";
  r = ctl(d, {"status", "app"});
  EXPECT_EQ(r.exit_code, 0) << show(r);
}

TEST(Control, FollowEndsWhenSuperdShutsDown) {
  TempDir dir;
  Superd d(dir, service("app", {"--print", "hello", "--pause"}));
  ASSERT_TRUE(d.start());
  ASSERT_TRUE(wait_until([&] { return read_file(d.log_dir() + "/app.log") == "hello\n"; }, 5s));
  const std::string out = dir / "follow.out";
  Background follower({superctl_bin(), "-s", d.socket(), "log", "app", "-f"}, out);
  ASSERT_TRUE(wait_until([&] { return read_file(out) == "hello\n"; }, 5s)) << read_file(out);
  EXPECT_TRUE(follower.running());
  auto r = ctl(d, {"shutdown"});
  EXPECT_EQ(r.exit_code, 0) << show(r);
  EXPECT_TRUE(wait_until([&] { return !follower.running(); }, 10s))
      << "superctl log -f ends when superd goes away";
  EXPECT_TRUE(wait_until([&] { return !d.alive(); }, 10s));
  EXPECT_EQ(d.stop(), 0);
}

TEST(Control, FollowContinuesWhenReloadConfigChangesTheLogSettings) {
  TempDir dir;
  auto app = [&](const std::string& max) {
    return service("app", {"--print", "started", "--hup-print", "ping", "--pause"},
                   "log_max_bytes = " + max);
  };
  Superd d(dir, app("100000"));
  ASSERT_TRUE(d.start());
  ASSERT_TRUE(d.wait_state("app", "running"));
  const std::string out = dir / "follow.out";
  Background follower({superctl_bin(), "-s", d.socket(), "log", "app", "-f", "-n", "1"}, out);
  ASSERT_TRUE(wait_until([&] { return read_file(out) == "started\n"; }, 5s)) << read_file(out);
  const pid_t first = pid_of(d, "app");
  d.rewrite_services(app("200000"));
  auto r = ctl(d, {"reload-config"});
  ASSERT_EQ(r.exit_code, 0) << show(r);
  EXPECT_EQ(r.out, "changed: app\n");
  ASSERT_GT(d.wait_new_pid("app", first), 0);
  r = ctl(d, {"reload", "app"});
  ASSERT_EQ(r.exit_code, 0) << show(r);
  ASSERT_TRUE(wait_until(
      [&] { return read_file(d.log_dir() + "/app.log").find("ping\n") != std::string::npos; }, 5s));
  // The follower either keeps getting the service's lines, or its stream ends (superctl
  // exits) so that the operator knows; it must not sit there silently.
  const bool streamed = wait_until(
      [&] { return read_file(out) == "started\nstarted\nping\n" || !follower.running(); }, 3s);
  EXPECT_TRUE(streamed) << "after reload-config changed log_max_bytes the follower is still "
                           "connected but gets nothing; it has: "
                        << read_file(out);
}

// ---- lifecycle of superd, hello, version, help, unreachable ----------------------------

TEST(Control, HelloVersionAndHelp) {
  TempDir dir;
  Superd d(dir, service("app", {"--pause"}));
  ASSERT_TRUE(d.start());
  auto c = connect_client(d);
  ASSERT_TRUE(c);
  json reply = request(*c, "hello");
  ASSERT_EQ(reply.value("ok", false), true) << reply.dump();
  EXPECT_EQ(reply["result"]["protocol"], ipc::kProtocolVersion);
  EXPECT_EQ(reply["result"]["pid"], d.pid());
  ASSERT_TRUE(reply["result"]["version"].is_string());
  const std::string version = reply["result"]["version"];
  EXPECT_FALSE(version.empty());

  auto r = run({superctl_bin(), "--version"});
  EXPECT_EQ(r.exit_code, 0) << show(r);
  EXPECT_EQ(r.out, "superctl " + version + "\n");
  r = run({superd_bin(), "--version"});
  EXPECT_EQ(r.exit_code, 0) << show(r);
  EXPECT_NE(r.out.find(version), std::string::npos) << r.out;

  for (const std::string verb : {"status", "start", "stop", "restart", "reload", "enable",
                                 "disable", "signal", "log", "reload-config", "shutdown"}) {
    r = run({superctl_bin(), verb, "--help"});
    EXPECT_EQ(r.exit_code, 0) << verb << "\n" << show(r);
    EXPECT_NE(r.out.find(verb), std::string::npos) << verb << "\n" << r.out;
    EXPECT_NE(r.out.find("Usage"), std::string::npos) << verb << "\n" << r.out;
    EXPECT_EQ(r.err, "") << verb;
  }
  r = run({superctl_bin(), "log", "--help"});
  EXPECT_NE(r.out.find("--follow"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("--lines"), std::string::npos) << r.out;
  r = run({superctl_bin(), "enable", "--help"});
  EXPECT_NE(r.out.find("--now"), std::string::npos) << r.out;
  r = run({superctl_bin(), "--help"});
  EXPECT_EQ(r.exit_code, 0) << show(r);
  for (const char* verb : {"status", "start", "stop", "restart", "reload", "enable", "disable",
                           "signal", "log", "reload-config", "shutdown"}) {
    EXPECT_NE(r.out.find(verb), std::string::npos) << verb;
  }
  r = run({superctl_bin()});
  EXPECT_EQ(r.exit_code, 1) << show(r);
  r = run({superctl_bin(), "-s", d.socket(), "frobnicate"});
  EXPECT_EQ(r.exit_code, 1) << show(r);
  EXPECT_EQ(r.err.rfind("superctl: ", 0), 0u) << r.err;
}

TEST(Control, UnreachableDaemonIsExit69NamingTheSocket) {
  TempDir dir;
  const std::string missing = dir / "nothing-here.sock";
  auto r = run({superctl_bin(), "-s", missing, "status"});
  EXPECT_EQ(r.exit_code, 69) << show(r);
  EXPECT_EQ(r.err, "superctl: cannot connect to " + missing + ": no such socket\n");
  EXPECT_EQ(r.out, "");

  // A socket file nobody listens on (what a crashed daemon leaves).
  const std::string stale = dir / "stale.sock";
  int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, stale.c_str(), sizeof addr.sun_path - 1);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ::close(fd);
  r = run({superctl_bin(), "-s", stale, "restart", "app"});
  EXPECT_EQ(r.exit_code, 69) << show(r);
  EXPECT_EQ(r.err,
            "superctl: cannot connect to " + stale + ": connection refused (is superd running?)\n");

  // $SUPERD_SOCKET when there is no -s.
  r = run({superctl_bin(), "status"}, {.env = {"SUPERD_SOCKET=" + missing}});
  EXPECT_EQ(r.exit_code, 69) << show(r);
  EXPECT_NE(r.err.find(missing), std::string::npos) << r.err;

  // A superd that was there and is gone.
  Superd d(dir, service("app", {"--pause"}));
  ASSERT_TRUE(d.start());
  ASSERT_TRUE(d.wait_state("app", "running"));
  EXPECT_EQ(ctl(d, {"status"}).exit_code, 0);
  ASSERT_EQ(d.stop(), 0);
  r = ctl(d, {"status"});
  EXPECT_EQ(r.exit_code, 69) << show(r);
  EXPECT_NE(r.err.find("cannot connect to " + d.socket() + ": "), std::string::npos) << r.err;
}

// superctl parses `[-s SOCKET] [--json] VERB NAME...` of status, start, stop, restart
// and reload itself, and everything else with CLI11 (--socket=PATH, say, or a verb with
// options): the two must agree on what a command line means and on what it prints.
TEST(Control, TheQuickCommandLineAndTheFullOneAgree) {
  TempDir dir;
  Superd d(dir, service("app", {"--pause"}));
  ASSERT_TRUE(d.start());
  ASSERT_TRUE(d.wait_state("app", "running"));
  const std::string sock = d.socket();
  auto quick = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {superctl_bin(), "-s", sock});
    return run(args);
  };
  auto full = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {superctl_bin(), "--socket=" + sock});
    return run(args);
  };

  auto a = quick({"status", "nope"}), b = full({"status", "nope"});
  EXPECT_EQ(a.exit_code, 4) << show(a);
  EXPECT_EQ(a.exit_code, b.exit_code) << show(b);
  EXPECT_EQ(a.err, "superctl: no service 'nope'\n");
  EXPECT_EQ(a.err, b.err);

  // Global options after the verb mean the same to both.
  a = run({superctl_bin(), "status", "app", "--json", "-s", sock});
  b = full({"status", "--json", "app"});
  ASSERT_EQ(a.exit_code, 0) << show(a);
  ASSERT_EQ(b.exit_code, 0) << show(b);
  const json ja = json::parse(a.out, nullptr, false), jb = json::parse(b.out, nullptr, false);
  ASSERT_TRUE(ja.is_object() && jb.is_object()) << a.out << b.out;
  EXPECT_EQ(ja["services"][0]["name"], "app");
  EXPECT_EQ(ja["services"][0]["pid"], jb["services"][0]["pid"]);
  EXPECT_EQ(ja.size(), jb.size());

  a = quick({"stop", "app"});
  EXPECT_EQ(a.exit_code, 0) << show(a);
  EXPECT_EQ(a.out.rfind("app: stopped", 0), 0u) << a.out;
  b = full({"status", "app"});
  EXPECT_EQ(b.exit_code, 3) << show(b);
  b = full({"start", "app"});
  EXPECT_EQ(b.exit_code, 0) << show(b);
  EXPECT_EQ(b.out.rfind("app: running (pid ", 0), 0u) << b.out;
  a = quick({"status", "app"});
  EXPECT_EQ(a.exit_code, 0) << show(a);

  // What the quick parser does not take goes to CLI11, which words the error.
  a = quick({"start"});
  EXPECT_EQ(a.exit_code, 1) << show(a);
  EXPECT_NE(a.err.find("NAME is required"), std::string::npos) << a.err;
  a = quick({"status", "--no-such-option"});
  EXPECT_EQ(a.exit_code, 1) << show(a);
  EXPECT_NE(a.err.find("--no-such-option"), std::string::npos) << a.err;

  // $SUPERD_SOCKET when there is no -s, on both paths.
  a = run({superctl_bin(), "status", "app"}, {.env = {"SUPERD_SOCKET=" + sock}});
  EXPECT_EQ(a.exit_code, 0) << show(a);
  a = run({superctl_bin(), "restart", "--parallel", "1", "app"}, {.env = {"SUPERD_SOCKET=" + sock}});
  EXPECT_EQ(a.exit_code, 0) << show(a);
}

TEST(Control, ShutdownStopsEverythingAndExits) {
  TempDir dir;
  Superd d(dir, service("a", {"--pause"}) + service("b", {"--pause"}, "after = [\"a\"]"));
  ASSERT_TRUE(d.start());
  ASSERT_TRUE(d.wait_state("a", "running"));
  ASSERT_TRUE(d.wait_state("b", "running"));
  const ProcKey a = proc_key(pid_of(d, "a")), b = proc_key(pid_of(d, "b"));
  auto r = ctl(d, {"shutdown"});
  EXPECT_EQ(r.exit_code, 0) << show(r);
  EXPECT_EQ(r.err, "");
  EXPECT_TRUE(wait_until([&] { return !d.alive(); }, 10s)) << "superd exits by itself";
  EXPECT_FALSE(process_alive(a));
  EXPECT_FALSE(process_alive(b));
  EXPECT_EQ(d.stop(), 0) << "exit status 0\n" << d.daemon_log();
  EXPECT_FALSE(file_exists(d.socket())) << "the socket is removed";
  r = ctl(d, {"status"});
  EXPECT_EQ(r.exit_code, 69) << show(r);
}

TEST(Control, SigtermDuringShutdownStillExitsZero) {
  TempDir dir;
  Superd d(dir, service("app", {"--pause"}));
  ASSERT_TRUE(d.start());
  ASSERT_TRUE(d.wait_state("app", "running"));
  const pid_t superd = d.pid();
  // `superctl shutdown` and a SIGTERM (systemctl stop, a second Ctrl-C) at about the same
  // time: either way superd stops its services and exits 0, never dies of the signal.
  std::thread shutdown([&] { ctl(d, {"shutdown"}); });
  bool exited = false;
  for (auto t0 = SteadyClock::now(); since(t0) < 10s && !exited;) {
    ::kill(superd, SIGTERM);  // still ours: not reaped until d.stop()
    siginfo_t info{};
    exited =
        ::waitid(P_PID, superd, &info, WEXITED | WNOHANG | WNOWAIT) == 0 && info.si_pid == superd;
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  shutdown.join();
  ASSERT_TRUE(exited);
  EXPECT_EQ(d.stop(), 0) << "143: killed by the SIGTERM\n" << d.daemon_log();
}

// ---- authorization ------------------------------------------------------------------

// hello and status as another user over the raw protocol, from a forked child.
// With `egid`, the child runs as the user with that effective gid and no supplementary
// groups (as a setgid program, or `sg`, would make it), instead of its own groups.
json requests_as(const TestUser& user, const std::string& socket,
                 const std::vector<std::string>& cmds, std::optional<gid_t> egid = std::nullopt) {
  int fds[2];
  if (::pipe(fds) < 0) return {};
  pid_t pid = ::fork();
  if (pid == 0) {
    ::close(fds[0]);
    std::string out;
    const bool groups_set = egid ? ::setgroups(0, nullptr) == 0 && ::setgid(*egid) == 0
                                 : ::initgroups(user.name().c_str(), user.gid()) == 0 &&
                                       ::setgid(user.gid()) == 0;
    if (groups_set && ::setuid(user.uid()) == 0) {
      ipc::Client c;
      c.set_timeout(5s);
      json replies = json::array();
      if (auto error = c.connect(socket)) {
        replies.push_back({{"connect_error", *error}});
      } else {
        for (const auto& cmd : cmds) {
          auto reply = c.request(cmd);
          if (auto* e = std::get_if<std::string>(&reply))
            replies.push_back({{"client_error", *e}});
          else
            replies.push_back(std::get<json>(reply));
        }
      }
      out = replies.dump();
    }
    size_t off = 0;
    while (off < out.size()) {
      ssize_t w = ::write(fds[1], out.data() + off, out.size() - off);
      if (w <= 0) break;
      off += static_cast<size_t>(w);
    }
    _exit(0);
  }
  ::close(fds[1]);
  std::string text;
  char buf[4096];
  for (;;) {
    pollfd p{fds[0], POLLIN, 0};
    if (::poll(&p, 1, 10000) <= 0) break;
    ssize_t n = ::read(fds[0], buf, sizeof buf);
    if (n <= 0) break;
    text.append(buf, static_cast<size_t>(n));
  }
  ::close(fds[0]);
  ::kill(pid, SIGKILL);  // already gone unless it hung
  ::waitpid(pid, nullptr, 0);
  return json::parse(text, nullptr, false);
}

TEST(Control, PermissionDeniedOutsideSocketGroupAllowedThroughSupplementaryGroup) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to create users";
  const std::string suffix = std::to_string(::getpid() % 100000);
  const std::string group = "sdc-g" + suffix;
  TestUser member("sdc-m" + suffix, {group});  // the group only as a supplementary one
  TestUser outsider("sdc-o" + suffix);
  ASSERT_NE(member.uid(), 0u);
  ASSERT_NE(outsider.uid(), 0u);
  const gid_t group_gid = member.group_id(group);
  ASSERT_NE(group_gid, static_cast<gid_t>(-1));
  ASSERT_NE(member.gid(), group_gid) << "the primary group is the user's own";

  TempDir dir;
  Superd d(dir, service("app", {"--pause"}), "socket_group = " + q(group));
  std::string why;
  ASSERT_TRUE(d.start({}, &why)) << why;
  ASSERT_TRUE(d.wait_state("app", "running"));
  struct stat st {};
  ASSERT_EQ(::stat(d.socket().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0660u);
  EXPECT_EQ(st.st_uid, 0u);
  EXPECT_EQ(st.st_gid, group_gid);
  const pid_t app = pid_of(d, "app");

  // The member: everything.
  auto r = ctl(d, {"status"}, {.user = &member});
  EXPECT_EQ(r.exit_code, 0) << show(r);
  EXPECT_NE(r.out.find("running"), std::string::npos) << r.out;
  r = ctl(d, {"restart", "app"}, {.user = &member});
  EXPECT_EQ(r.exit_code, 0) << show(r);
  const pid_t app2 = pid_of(d, "app");
  EXPECT_NE(app2, app);
  r = ctl(d, {"--json", "status", "app"}, {.user = &member});
  EXPECT_EQ(r.exit_code, 0) << show(r);
  EXPECT_EQ(parse_json(r.out)["services"][0]["pid"], app2) << r.out;

  // The outsider cannot even open the 0660 socket.
  r = ctl(d, {"status"}, {.user = &outsider});
  EXPECT_EQ(r.exit_code, 69) << show(r);
  EXPECT_EQ(r.err, "superctl: cannot connect to " + d.socket() + ": permission denied\n");

  // With the file opened up, the daemon itself refuses by peer credentials.
  ASSERT_EQ(::chmod(d.socket().c_str(), 0666), 0);
  const std::string denied = "superctl: uid " + std::to_string(outsider.uid()) +
                             " is not root or in group '" + group + "'\n";
  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{{"status"},
                                             {"stop", "app"},
                                             {"disable", "app"},
                                             {"signal", "KILL", "app"},
                                             {"log", "app"},
                                             {"reload-config"},
                                             {"shutdown"}}) {
    r = ctl(d, args, {.user = &outsider});
    EXPECT_EQ(r.exit_code, 1) << args[0] << "\n" << show(r);
    EXPECT_EQ(r.err, denied) << args[0];
  }
  EXPECT_EQ(pid_of(d, "app"), app2) << "nothing was done for the outsider";
  EXPECT_EQ(d.status("app")["enabled"], true);
  EXPECT_TRUE(d.alive());

  json replies = requests_as(outsider, d.socket(), {"hello", "status", "stop"});
  ASSERT_TRUE(replies.is_array()) << replies.dump();
  ASSERT_EQ(replies.size(), 3u) << replies.dump();
  EXPECT_EQ(replies[0]["ok"], true) << "hello is open to anyone: " << replies.dump();
  EXPECT_EQ(replies[0]["result"]["protocol"], ipc::kProtocolVersion);
  EXPECT_EQ(replies[1]["ok"], false);
  EXPECT_EQ(replies[1]["error"]["code"], "permission_denied") << replies.dump();
  EXPECT_EQ(replies[2]["error"]["code"], "permission_denied") << replies.dump();

  replies = requests_as(member, d.socket(), {"hello", "status"});
  ASSERT_TRUE(replies.is_array()) << replies.dump();
  ASSERT_EQ(replies.size(), 2u) << replies.dump();
  EXPECT_EQ(replies[1]["ok"], true) << replies.dump();
  EXPECT_EQ(pid_of(d, "app"), app2);
}

// SO_PEERCRED gives the peer's effective gid: a process running with socket_group as
// its gid is a member, even when the user database does not list the user in it.
TEST(Control, EffectiveGidOfTheSocketGroupAloneIsAuthorized) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to create users";
  const std::string suffix = std::to_string(::getpid() % 100000);
  const std::string group = "sdc-e" + suffix;
  TestUser owner("sdc-eo" + suffix, {group});  // makes the group; not the user under test
  TestUser user("sdc-eu" + suffix);
  const gid_t group_gid = user.group_id(group);
  ASSERT_NE(group_gid, static_cast<gid_t>(-1));
  TempDir dir;
  Superd d(dir, service("app", {"--pause"}), "socket_group = " + q(group));
  ASSERT_TRUE(d.start());
  ASSERT_TRUE(d.wait_state("app", "running"));
  ASSERT_EQ(::chmod(d.socket().c_str(), 0666), 0);  // so that the file mode decides nothing

  json with_gid = requests_as(user, d.socket(), {"status"}, group_gid);
  ASSERT_TRUE(with_gid.is_array() && with_gid.size() == 1) << with_gid.dump();
  EXPECT_EQ(with_gid[0]["ok"], true) << "egid " << group_gid << ": " << with_gid.dump();
  // The same user with its own gid: refused. The gid made the difference.
  json without = requests_as(user, d.socket(), {"status"}, user.gid());
  ASSERT_TRUE(without.is_array() && without.size() == 1) << without.dump();
  EXPECT_EQ(without[0]["error"]["code"], "permission_denied") << without.dump();
}

// ---- robustness over the raw socket -----------------------------------------------------

TEST(ControlRobustness, MalformedJsonAndUnknownCommandKeepTheConnection) {
  TempDir dir;
  Superd d(dir, service("app", {"--pause"}));
  ASSERT_TRUE(d.start());
  auto c = connect_client(d);
  ASSERT_TRUE(c);
  std::string error;

  ASSERT_FALSE(c->send_raw("{this is not json\n"));
  auto m = c->read_message(&error);
  ASSERT_TRUE(m) << error;
  EXPECT_EQ((*m)["ok"], false) << m->dump();
  EXPECT_TRUE((*m)["id"].is_null()) << m->dump();
  EXPECT_EQ((*m)["error"]["code"], "bad_request") << m->dump();

  for (const char* line :
       {"[1, 2, 3]\n", "\"status\"\n", "{\"id\": 3}\n", "{\"id\": \"x\", \"cmd\": \"status\"}\n",
        "{\"id\": 4, \"cmd\": 5}\n", "{\"id\": 6, \"cmd\": \"status\", \"args\": 7}\n",
        "{\"id\": 8, \"cmd\": \"st\xff\xfe\"}\n"}) {
    ASSERT_FALSE(c->send_raw(line));
    m = c->read_message(&error);
    ASSERT_TRUE(m) << line << ": " << error;
    EXPECT_EQ((*m)["ok"], false) << line << m->dump();
    EXPECT_EQ((*m)["error"]["code"], "bad_request") << line << m->dump();
  }

  ASSERT_FALSE(c->send_raw("{\"id\": 9, \"cmd\": \"frobnicate\"}\n"));
  m = c->read_message(&error);
  ASSERT_TRUE(m) << error;
  EXPECT_EQ((*m)["id"], 9);
  EXPECT_EQ((*m)["ok"], false);
  EXPECT_EQ((*m)["error"]["code"], "unknown_command") << m->dump();

  // Two requests in one write, with a blank line between: both answered, in order.
  ASSERT_FALSE(
      c->send_raw("{\"id\": 10, \"cmd\": \"hello\"}\n\n{\"id\": 11, \"cmd\": \"status\", \"args\": "
                  "{\"names\": [\"app\"]}}\n"));
  m = c->read_message(&error);
  ASSERT_TRUE(m) << error;
  EXPECT_EQ((*m)["id"], 10);
  EXPECT_EQ((*m)["ok"], true);
  m = c->read_message(&error);
  ASSERT_TRUE(m) << error;
  EXPECT_EQ((*m)["id"], 11);
  EXPECT_EQ((*m)["result"]["services"][0]["name"], "app");

  // Bad arguments of a good command.
  ASSERT_FALSE(c->send_raw("{\"id\": 12, \"cmd\": \"status\", \"args\": {\"names\": \"app\"}}\n"));
  m = c->read_message(&error);
  ASSERT_TRUE(m) << error;
  EXPECT_EQ((*m)["id"], 12);
  EXPECT_EQ((*m)["error"]["code"], "bad_request") << m->dump();

  // Still usable after all of that.
  json reply = request(*c, "status");
  EXPECT_EQ(reply.value("ok", false), true) << reply.dump();
  EXPECT_TRUE(d.alive());
}

TEST(ControlRobustness, ClientThatVanishesMidRequest) {
  TempDir dir;
  Superd d(dir, service("app", {"--pause"}, "start_seconds = \"300ms\""));
  ASSERT_TRUE(d.start());
  ASSERT_TRUE(d.wait_state("app", "running"));
  const pid_t first = pid_of(d, "app");
  {
    auto c = connect_client(d);
    ASSERT_TRUE(c);
    ASSERT_FALSE(
        c->send_raw("{\"id\": 1, \"cmd\": \"restart\", \"args\": {\"names\": [\"app\"]}}\n"));
    c->close();  // gone before the restart finishes
  }
  pid_t second = d.wait_new_pid("app", first);
  EXPECT_GT(second, 0) << "the restart still happens\n" << d.daemon_log();
  // Another vanishes after asking for a big answer it never reads.
  {
    auto c = connect_client(d);
    ASSERT_TRUE(c);
    ASSERT_FALSE(c->send_raw(
        "{\"id\": 1, \"cmd\": \"log\", \"args\": {\"name\": \"app\", \"lines\": 100000}}\n"));
    ::shutdown(c->fd(), SHUT_RDWR);
  }
  auto r = ctl(d, {"status", "app"});
  EXPECT_EQ(r.exit_code, 0) << show(r);
  EXPECT_EQ(pid_of(d, "app"), second);
  EXPECT_TRUE(d.alive());
}

TEST(ControlRobustness, TwoMebibyteLineIsTooLargeThenClosed) {
  TempDir dir;
  Superd d(dir, service("app", {"--pause"}));
  ASSERT_TRUE(d.start());
  ASSERT_TRUE(d.wait_state("app", "running"));
  auto c = connect_client(d);
  ASSERT_TRUE(c);
  std::string big =
      "{\"id\": 1, \"cmd\": \"status\", \"pad\": \"" + std::string(2 << 20, 'a') + "\"}\n";
  c->send_raw(big);  // the daemon may close before taking all of it
  std::string error;
  auto m = c->read_message(&error);
  ASSERT_TRUE(m) << error;
  EXPECT_EQ((*m)["ok"], false);
  EXPECT_EQ((*m)["error"]["code"], "too_large") << m->dump();
  m = c->read_message(&error);
  EXPECT_FALSE(m) << "closed after too_large: " << m->dump();
  // Closed: a clean EOF, or a reset when the rest of the line was still unread.
  EXPECT_TRUE(c->at_eof() || error.find("reset") != std::string::npos) << error;

  // Just under the limit is fine.
  auto c2 = connect_client(d);
  ASSERT_TRUE(c2);
  std::string head = "{\"id\": 2, \"cmd\": \"hello\", \"pad\": \"";
  std::string fits = head + std::string(ipc::kMaxLineBytes - head.size() - 3, 'b') + "\"}\n";
  ASSERT_FALSE(c2->send_raw(fits));
  m = c2->read_message(&error);
  ASSERT_TRUE(m) << error;
  EXPECT_EQ((*m)["id"], 2);
  EXPECT_EQ((*m)["ok"], true) << m->dump();

  auto r = ctl(d, {"status", "app"});
  EXPECT_EQ(r.exit_code, 0) << show(r);
}

TEST(ControlRobustness, HundredConcurrentClients) {
  TempDir dir;
  Superd d(dir, service("app", {"--pause"}) + service("web", {"--pause"}));
  ASSERT_TRUE(d.start());
  ASSERT_TRUE(d.wait_state("app", "running"));
  ASSERT_TRUE(d.wait_state("web", "running"));
  // All connected at once, all asking before any reads.
  std::vector<std::unique_ptr<ipc::Client>> clients;
  for (int i = 0; i < 100; ++i) {
    clients.push_back(connect_client(d));
    ASSERT_TRUE(clients.back()) << i;
  }
  for (int i = 0; i < 100; ++i) {
    ASSERT_FALSE(
        clients[i]->send_raw("{\"id\": " + std::to_string(1000 + i) + ", \"cmd\": \"status\"}\n"));
  }
  int answered = 0;
  for (int i = 0; i < 100; ++i) {
    std::string error;
    auto m = clients[i]->read_message(&error);
    ASSERT_TRUE(m) << "client " << i << ": " << error;
    EXPECT_EQ((*m)["id"], 1000 + i);
    EXPECT_EQ((*m)["ok"], true) << m->dump();
    EXPECT_EQ((*m)["result"]["services"].size(), 2u);
    ++answered;
  }
  EXPECT_EQ(answered, 100);
  clients.clear();

  // And 100 superctl processes at once, from threads.
  std::vector<RunResult> results(100);
  std::vector<std::thread> threads;
  for (int i = 0; i < 100; ++i) {
    threads.emplace_back([&, i] { results[i] = ctl(d, {"--json", "status"}); });
  }
  for (auto& t : threads) t.join();
  for (int i = 0; i < 100; ++i) {
    EXPECT_EQ(results[i].exit_code, 0) << i << "\n" << show(results[i]);
    json doc = parse_json(results[i].out);
    EXPECT_TRUE(doc.is_object() && doc["services"].size() == 2) << results[i].out;
  }
}

TEST(ControlRobustness, ConnectionsOverTheLimitAreTurnedAwayWithBusy) {
  TempDir dir;
  Superd d(dir, service("app", {"--pause"}));
  ASSERT_TRUE(d.start());
  ASSERT_TRUE(d.wait_state("app", "running"));
  // Open connections until one is refused with busy (the limit is the server's; bounded).
  std::vector<std::unique_ptr<ipc::Client>> held;
  std::optional<json> busy;
  for (int i = 0; i < 300 && !busy; ++i) {
    auto c = connect_client(d);
    ASSERT_TRUE(c);
    // A held connection answers hello; the one over the limit gets busy and is closed,
    // which can happen before this client has sent its hello (the send then fails with
    // EPIPE, and the busy line is still there to read).
    const auto send_error = c->send_raw("{\"id\": 1, \"cmd\": \"hello\"}\n");
    std::string error;
    auto m = c->read_message(&error);
    ASSERT_TRUE(m) << i << ": " << error << (send_error ? "; send: " + *send_error : "");
    if ((*m)["ok"] == false) {
      busy = *m;
      // Closed after busy: EOF, or a reset since the hello it sent was never read.
      EXPECT_FALSE(c->read_message(&error)) << "closed after busy";
      EXPECT_TRUE(c->at_eof() || error.find("reset") != std::string::npos) << error;
    } else {
      held.push_back(std::move(c));
    }
  }
  ASSERT_TRUE(busy) << "300 connections and never busy";
  EXPECT_EQ((*busy)["error"]["code"], "busy") << busy->dump();
  EXPECT_GE(held.size(), 100u);
  // A closed connection frees its slot (once superd has seen the EOF).
  held.pop_back();
  RunResult r;
  EXPECT_TRUE(wait_until(
      [&] {
        return (r = ctl(d, {"status", "app"})).exit_code == 0;
      },
      3s))
      << show(r);
  held.clear();
  EXPECT_TRUE(wait_until(
      [&] {
        return (r = ctl(d, {"status", "app"})).exit_code == 0;
      },
      3s))
      << show(r);
  EXPECT_TRUE(d.alive());
}

// Nothing has arrived on `c` yet: no reply, no EOF.
bool still_open_and_silent(ipc::Client& c) {
  pollfd p{c.fd(), POLLIN, 0};
  return ::poll(&p, 1, 0) == 0;
}

TEST(ControlRobustness, StalledHalfLineDoesNotBlockOthersAndTimesOut) {
  TempDir dir;
  Superd d(dir, service("app", {"--pause"}));
  ASSERT_TRUE(d.start());
  ASSERT_TRUE(d.wait_state("app", "running"));
  std::vector<std::unique_ptr<ipc::Client>> stalled;
  const auto stalled_at = SteadyClock::now();
  for (int i = 0; i < 10; ++i) {
    stalled.push_back(connect_client(d, 30s));
    ASSERT_TRUE(stalled.back());
    ASSERT_FALSE(stalled.back()->send_raw("{\"id\": 1, \"cmd\": \"sta"));
  }

  // Others are served meanwhile: before the stalled lines are cut (10 s after their first
  // byte), not after, which is what a loop blocked by them would do.
  auto other = connect_client(d);
  ASSERT_TRUE(other);
  for (int i = 0; i < 50; ++i) {
    json reply = request(*other, "status");
    ASSERT_EQ(reply.value("ok", false), true) << reply.dump();
  }
  auto r = ctl(d, {"restart", "app"});
  EXPECT_EQ(r.exit_code, 0) << show(r);
  for (size_t i = 0; i < stalled.size(); ++i) {
    EXPECT_TRUE(still_open_and_silent(*stalled[i]))
        << "stalled connection " << i << " was answered or cut before the others were served";
  }

  // A line finished late (but in time) is answered.
  ASSERT_FALSE(stalled[0]->send_raw("tus\"}\n"));
  std::string error;
  auto m = stalled[0]->read_message(&error);
  ASSERT_TRUE(m) << error;
  EXPECT_EQ((*m)["id"], 1);
  EXPECT_EQ((*m)["ok"], true);

  // The ones that never finish are closed by the idle timeout (10 s): not at once.
  for (size_t i = 1; i < stalled.size(); ++i) {
    m = stalled[i]->read_message(&error);
    EXPECT_FALSE(m) << i << ": " << m->dump();
    EXPECT_TRUE(stalled[i]->at_eof()) << i << ": " << error;
  }
  const auto closed_after = since(stalled_at);
  EXPECT_GE(closed_after, 9s) << "closed before the idle timeout";
  json reply = request(*other, "status");
  EXPECT_EQ(reply.value("ok", false), true) << "an idle complete connection is never timed out";
}

// A directory on tmpfs, removed with everything in it at the end of the test.
class ShmDir {
 public:
  ShmDir() {
    char templ[] = "/dev/shm/superd-ctl.XXXXXX";
    if (::mkdtemp(templ)) path_ = templ;
  }
  ~ShmDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

struct FloodResult {
  long rss_start = 0, rss_peak = 0;
  std::vector<size_t> received;  // per follower, before EOF
  std::vector<bool> dropped;
  Ms slowest_status{0};
  int polls = 0;
};

// The last line of a file, read from its end (the flood's log is up to 1 MB).
std::string last_line(const std::string& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) return "";
  const std::streamoff size = in.tellg();
  const std::streamoff from = std::max<std::streamoff>(0, size - 4096);
  std::string tail(static_cast<size_t>(size - from), '\0');
  in.seekg(from);
  in.read(tail.data(), static_cast<std::streamsize>(tail.size()));
  if (!tail.empty() && tail.back() == '\n') tail.pop_back();
  const auto nl = tail.rfind('\n');
  return nl == std::string::npos ? tail : tail.substr(nl + 1);
}

// `followers` clients follow the log of a service that writes 100 MB, and never read.
// The service's log file is on tmpfs, so that what superd holds is what the control
// plane holds (a slow disk makes the log writer buffer too, a different matter).
void flood_with_stalled_followers(int followers, FloodResult* out) {
  TempDir dir;
  ShmDir shm;
  ASSERT_FALSE(shm.path().empty());
  const std::string done = dir / "flood.done";
  const std::string flood_log = shm.path() + "/flood.log";
  // 500 000 lines of 200 bytes: 100 MB, far over what superd may queue for a client.
  Superd d(dir, service("flood",
                        {"--line-bytes", "200", "--lines", "500000", "--stamp", done, "--pause"},
                        "enabled = false\nstart_seconds = \"50ms\"\nlog_max_bytes = \"1MB\"\n"
                        "log_backups = 1\nstdout = " +
                            q(flood_log)) +
                    service("app", {"--pause"}));
  ASSERT_TRUE(d.start());
  ASSERT_TRUE(d.wait_state("app", "running"));
  out->rss_start = rss_kib(d.pid());
  ASSERT_GT(out->rss_start, 0);

  std::vector<std::unique_ptr<ipc::Client>> stalled;
  for (int i = 0; i < followers; ++i) {
    auto f = connect_client(d, within(5s));
    ASSERT_TRUE(f);
    int small = 4096;
    ::setsockopt(f->fd(), SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    ASSERT_FALSE(
        f->send_raw("{\"id\": 1, \"cmd\": \"log\", \"args\": {\"name\": \"flood\", \"lines\": 0, "
                    "\"follow\": true}}\n"));
    std::string error;
    auto first = f->read_message(&error);
    ASSERT_TRUE(first) << error;
    ASSERT_EQ((*first)["ok"], true) << first->dump();
    stalled.push_back(std::move(f));
  }
  // From here on the followers read nothing until the flood is over.

  auto other = connect_client(d, within(5s));  // the bound on each reply
  ASSERT_TRUE(other);
  json reply = request(*other, "start", {{"names", {"flood"}}});
  ASSERT_EQ(reply.value("ok", false), true) << reply.dump();
  // Until superd has written the flood's last line: the writer has finished and nothing
  // of it is still in flight (in the pipe, or in superd's buffers).
  const std::string last = numbered(500000, 200);
  bool finished = wait_until(
      [&] {
        out->rss_peak = std::max(out->rss_peak, rss_kib(d.pid()));
        auto t = SteadyClock::now();
        json st = request(*other, "status", {{"names", {"app"}}});
        out->slowest_status = std::max(out->slowest_status, since(t));
        ++out->polls;
        EXPECT_EQ(st.value("ok", false), true) << st.dump();
        if (!file_exists(done)) return false;
        // Rotation at 1 MB may have just moved the last line into flood.log.1.
        const std::string now = last_line(flood_log);
        return (now.empty() ? last_line(flood_log + ".1") : now) == last;
      },
      within(60s));
  ASSERT_TRUE(finished) << "the flood did not finish: " << last_line(flood_log).substr(0, 20);
  out->rss_peak = std::max(out->rss_peak, rss_kib(d.pid()));
  EXPECT_TRUE(d.alive());

  // Each follower was dropped: what was queued for it, then EOF.
  for (auto& f : stalled) {
    size_t received = 0;
    std::string error;
    f->set_timeout(within(5s));
    const auto t0 = SteadyClock::now();
    for (int i = 0; i < 1000000 && since(t0) < 60s && f->read_message(&error); ++i) ++received;
    out->received.push_back(received);
    out->dropped.push_back(f->at_eof() || error.find("reset") != std::string::npos);
  }
  // Others are still served.
  auto r = ctl(d, {"status", "app"});
  EXPECT_EQ(r.exit_code, 0) << show(r);
  r = ctl(d, {"log", "flood", "-n", "1"});
  EXPECT_EQ(r.exit_code, 0) << show(r);
  EXPECT_EQ(r.out, last + "\n");
}

// Under ASan these run in full but for the bound on superd's RSS, which ASan inflates
// several times: the test then ends as skipped saying so, unless something else failed.
// Every status during the flood must be answered within its client's 5 s timeout (a loop
// blocked by the flood misses that, a busy machine does not; harness.h: within); the
// slowest is printed.

TEST(ControlRobustness, FollowerThatNeverReadsIsDroppedAndMemoryStaysBounded) {
  FloodResult f;
  flood_with_stalled_followers(1, &f);
  if (HasFatalFailure()) return;
  std::printf(
      "[control] 1 stalled follower: superd VmRSS %ld KiB at start, peak %ld KiB; it got %zu "
      "of 500000 lines before being dropped; slowest of %d status calls %lld ms\n",
      f.rss_start, f.rss_peak, f.received[0], f.polls,
      static_cast<long long>(f.slowest_status.count()));
  EXPECT_TRUE(f.dropped[0]) << "the follower was never closed (" << f.received[0] << " lines)";
  EXPECT_LT(f.received[0], 250000u);
  if (sanitized()) GTEST_SKIP() << "RSS bound: checked in the release build (the rest passed)";
  EXPECT_LT(f.rss_peak, 64 * 1024)
      << "superd's VmRSS peaked at " << f.rss_peak << " KiB (started at " << f.rss_start << " KiB)";
}

// Each stalled follower may hold max_output_bytes (8 MiB) of backlog; four of them must
// not cost superd much more than that.
TEST(ControlRobustness, FourStalledFollowersStayWithinTheirOutputBounds) {
  FloodResult f;
  flood_with_stalled_followers(4, &f);
  if (HasFatalFailure()) return;
  std::printf("[control] 4 stalled followers: superd VmRSS %ld KiB at start, peak %ld KiB\n",
              f.rss_start, f.rss_peak);
  for (size_t i = 0; i < f.dropped.size(); ++i) {
    EXPECT_TRUE(f.dropped[i]) << "follower " << i << " never closed";
  }
  if (sanitized()) GTEST_SKIP() << "RSS bound: checked in the release build (the rest passed)";
  EXPECT_LT(f.rss_peak, 64 * 1024) << "4 x 8 MiB of allowed backlog, yet superd's VmRSS peaked at "
                                   << f.rss_peak << " KiB (started at " << f.rss_start << " KiB)";
}

}  // namespace
}  // namespace superd::test
