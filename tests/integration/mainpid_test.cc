// MAINPID= hand-over on a real superd: gunicorn's USR2 binary upgrade under load (the
// new master named by its own when_ready hook, the old one stopped by the operator), a
// handed-over main that is not superd's child, and a MAINPID= naming a stranger.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <map>
#include <mutex>
#include <thread>

#include "harness.h"

namespace superd::test {
namespace {

using namespace std::chrono_literals;

bool have_gunicorn() {
  return run({"/usr/bin/python3", "-c", "import gunicorn"}).exit_code == 0;
}

// Each answer says which master's worker gave it (the worker's parent).
constexpr const char* kApp = R"(import os
def application(environ, start_response):
    body = str(os.getppid()).encode()
    start_response("200 OK", [("Content-Length", str(len(body)))])
    return [body]
)";

// A master started by USR2 (gunicorn gives it GUNICORN_PID, the old master's pid) names
// itself the main process, as it would to systemd. pre_exec: gunicorn 20.1 tells the new
// master LISTEN_FDS=1 but leaves the socket at the fd its fromfd() made, not at fd 3 (the
// exec'd master then fails with ENOTSOCK); the hook puts it where socket activation says.
constexpr const char* kConf = R"(import os, socket
def pre_exec(server):
    for i, listener in enumerate(server.LISTENERS):
        os.dup2(listener.fileno(), 3 + i)
def when_ready(server):
    if "GUNICORN_PID" in os.environ and "NOTIFY_SOCKET" in os.environ:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        s.connect(os.environ["NOTIFY_SOCKET"])
        s.send(("MAINPID=%d" % os.getpid()).encode())
        s.close()
)";

// HTTP GETs one after another until stopped (at most 120 s): every failure counted, and
// how many answers each master's workers gave.
class Load {
 public:
  explicit Load(int port) : thread_([this, port] { loop(port); }) {}
  ~Load() { finish(); }
  void finish() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  int answers() const { return answers_; }
  int failures() const { return failures_; }
  std::map<pid_t, int> by_master() const {
    std::lock_guard<std::mutex> lock(mu_);
    return by_master_;
  }
  std::string first_failure() const {
    std::lock_guard<std::mutex> lock(mu_);
    return first_failure_;
  }

 private:
  void loop(int port) {
    const auto deadline = std::chrono::steady_clock::now() + 120s;
    while (!stop_ && std::chrono::steady_clock::now() < deadline) {
      const std::string r = http_get(port, "/");
      const size_t body = r.find("\r\n\r\n");
      std::lock_guard<std::mutex> lock(mu_);
      if (r.rfind("HTTP/1.0 200", 0) == 0 || r.rfind("HTTP/1.1 200", 0) == 0) {
        ++by_master_[std::atoi(r.c_str() + body + 4)];
        ++answers_;
      } else {
        if (failures_++ == 0) first_failure_ = r.empty() ? "no answer" : r.substr(0, 200);
      }
    }
  }
  std::atomic<bool> stop_{false};
  std::atomic<int> answers_{0}, failures_{0};
  mutable std::mutex mu_;
  std::map<pid_t, int> by_master_;
  std::string first_failure_;
  std::thread thread_;
};

TEST(MainPid, GunicornUsr2UnderLoadDropsNoRequestAndTheNewMasterIsSupervised) {
  if (!have_gunicorn()) GTEST_SKIP() << "gunicorn is not installed (python3-gunicorn)";
  TempDir dir;
  write_file(dir / "app.py", kApp);
  write_file(dir / "conf.py", kConf);
  const int port = free_port();
  Superd d(dir,
           "[service.app]\ncommand = [\"/usr/bin/python3\", \"-m\", \"gunicorn\", \"-c\", " + q(dir / "conf.py") +
               ", \"-w\", \"2\", \"--graceful-timeout\", \"20\", \"app:application\"]\n"
               "directory = " + q(dir.path()) + "\nlisten = [\"tcp:127.0.0.1:" + std::to_string(port) +
               "\"]\nready = \"notify\"\nstop_mode = \"main\"\nstop_timeout = \"30s\"\n");
  ASSERT_TRUE(d.start()) << d.daemon_log();
  ASSERT_TRUE(d.wait_state("app", "running", 60s)) << d.daemon_log();
  const pid_t old_master = d.status("app").value("pid", 0);
  const int restarts = d.status("app").value("restarts", -1);
  ASSERT_GT(old_master, 0);
  const ProcKey old_key = proc_key(old_master);

  Load load(port);
  ASSERT_TRUE(wait_until([&] { return load.answers() >= 50; }, 60s)) << load.first_failure();
  auto r = d.ctl({"signal", "USR2", "app"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  pid_t new_master = 0;
  ASSERT_TRUE(wait_until([&] {
    new_master = d.status("app").value("pid", 0);
    return new_master != old_master && new_master > 0;
  }, 60s)) << d.daemon_log() << read_file(d.log_dir() + "/app.log");
  EXPECT_NE(d.daemon_log().find("app: main process is now pid " + std::to_string(new_master)), std::string::npos)
      << d.daemon_log();
  // Its workers serve beside the old ones; then the operator stops the old master
  // (TERM: gunicorn's graceful stop; its QUIT is the quick one).
  ASSERT_TRUE(wait_until([&] { return load.by_master()[new_master] >= 20; }, 60s)) << d.daemon_log();
  ASSERT_EQ(::kill(old_master, SIGTERM), 0);
  ASSERT_TRUE(wait_until([&] { return !process_exists(old_key); }, 60s)) << "the old master did not end";
  const int after_old = load.answers();
  ASSERT_TRUE(wait_until([&] { return load.answers() >= after_old + 50; }, 60s)) << load.first_failure();
  load.finish();

  EXPECT_EQ(load.failures(), 0) << load.first_failure();
  const auto status = d.status("app");
  EXPECT_EQ(status.value("state", ""), "running") << d.daemon_log();
  EXPECT_EQ(status.value("pid", 0), new_master);
  EXPECT_EQ(status.value("restarts", -1), restarts) << "the old master's exit was not taken for a crash";
  EXPECT_EQ(parent_of(new_master), d.pid()) << "superd, the subreaper, is its parent now";
  const ProcKey new_key = proc_key(new_master);
  r = d.ctl({"stop", "app"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_FALSE(process_alive(new_key)) << "stop reached the new master";
  EXPECT_TRUE(processes_of_session(old_master).empty()) << "nothing of the service is left";
  EXPECT_EQ(d.status("app").value("state", ""), "stopped");
}

// The pid `--hand-over`'s child wrote to `pidfile` (0 when it did not in time).
pid_t handed_over_main(const Superd& d, const std::string& pidfile) {
  EXPECT_TRUE(wait_until([&] { return !read_file(pidfile).empty(); })) << d.daemon_log();
  const std::string text = read_file(pidfile);
  return text.empty() ? 0 : std::stoi(text);
}

// KILL of a handed-over main that is not superd's child: the service starts again, its
// last exit unknown.
void kill_and_see_a_restart(const Superd& d, pid_t main) {
  ASSERT_GT(main, 0);
  ASSERT_EQ(::kill(main, SIGKILL), 0);
  const pid_t next = d.wait_new_pid("up", main, 15s);
  EXPECT_GT(next, 0) << d.daemon_log();
  EXPECT_NE(d.daemon_log().find("exit status unknown: it was not superd's child"), std::string::npos)
      << d.daemon_log();
}

// The new main stays the child of the old one, which never reaps it: superd sees its
// end through a pidfd, says the status is unknown, and restarts the service.
TEST(MainPid, AHandedOverMainThatIsNotSuperdsChildIsWatchedUntilItEnds) {
  TempDir dir;
  const std::string pidfile = dir / "main.pid";
  Superd d(dir, "[service.up]\ncommand = " + cmd({"--hand-over", pidfile}) +
                    "\nready = \"notify\"\nstop_timeout = \"5s\"\nstart_seconds = \"0s\"\n");
  ASSERT_TRUE(d.start()) << d.daemon_log();
  ASSERT_TRUE(d.wait_state("up", "running")) << d.daemon_log();
  const pid_t main = handed_over_main(d, pidfile);
  ASSERT_GT(main, 0);
  const pid_t started = parent_of(main);  // the process superd started
  ASSERT_TRUE(wait_until([&] { return d.status("up").value("pid", 0) == main; })) << d.daemon_log();
  EXPECT_GT(started, 0);
  EXPECT_NE(d.daemon_log().find("up: main process is now pid " + std::to_string(main) +
                                " (MAINPID= from pid " + std::to_string(main) + "; was pid " +
                                std::to_string(started) + ")"),
            std::string::npos)
      << d.daemon_log();
  ASSERT_NO_FATAL_FAILURE(kill_and_see_a_restart(d, main));
  EXPECT_TRUE(processes_of_session(started).empty()) << "the old group was stopped before the new start";
}

// The same after a re-exec: the new superd knows the handed-over main, the group apart
// from it, and watches it again.
TEST(MainPid, AHandOverIsKeptAcrossAReexec) {
  TempDir dir;
  const std::string pidfile = dir / "main.pid";
  Superd d(dir, "[service.up]\ncommand = " + cmd({"--hand-over", pidfile}) +
                    "\nready = \"notify\"\nstop_timeout = \"5s\"\nstart_seconds = \"0s\"\n");
  ASSERT_TRUE(d.start()) << d.daemon_log();
  const pid_t main = handed_over_main(d, pidfile);
  ASSERT_GT(main, 0);
  const pid_t started = parent_of(main);
  ASSERT_TRUE(wait_until([&] { return d.status("up").value("pid", 0) == main; })) << d.daemon_log();
  auto r = d.ctl({"reexec"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err << d.daemon_log();
  EXPECT_EQ(d.status("up").value("pid", 0), main);
  EXPECT_EQ(d.status("up").value("state", ""), "running");
  ASSERT_NO_FATAL_FAILURE(kill_and_see_a_restart(d, main));
  EXPECT_TRUE(processes_of_session(started).empty()) << "the old group, known by its id, was stopped";
}

// A start-new-first restart after a hand-over: both instances' mains are children of
// their own first process, not superd's, and both are watched at once. The old one's end
// still ends the old instance, so the restart completes.
TEST(MainPid, ARestartBesideAHandedOverMainWatchesBothMains) {
  TempDir dir;
  const std::string pidfile = dir / "main.pid";
  const int port = free_port();
  Superd d(dir, "[service.up]\ncommand = " + cmd({"--hand-over", pidfile}) + "\nready = \"notify\"\n" +
                    "listen = [\"tcp:127.0.0.1:" + std::to_string(port) + "\"]\nstop_timeout = \"60s\"\n");
  ASSERT_TRUE(d.start()) << d.daemon_log();
  const pid_t first = handed_over_main(d, pidfile);
  ASSERT_GT(first, 0);
  ASSERT_TRUE(wait_until([&] { return d.status("up").value("pid", 0) == first; })) << d.daemon_log();
  const ProcKey first_key = proc_key(first), first_parent = proc_key(parent_of(first));
  auto r = d.ctl({"restart", "up"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err << d.daemon_log();
  ASSERT_TRUE(wait_until([&] {
    const std::string text = read_file(pidfile);
    return !text.empty() && std::stoi(text) != first && d.status("up").value("pid", 0) == std::stoi(text);
  })) << d.daemon_log();
  // Its TERM ended it (a lost watch would leave it until stop_timeout's KILL, 60 s on).
  EXPECT_TRUE(wait_until([&] { return d.status("up").value("old_pid", 0) == 0; }, 30s))
      << "the old instance ended: " << d.daemon_log();
  EXPECT_EQ(d.daemon_log().find("sent KILL"), std::string::npos) << d.daemon_log();
  EXPECT_FALSE(process_alive(first_key));
  EXPECT_FALSE(process_alive(first_parent));
  EXPECT_EQ(d.status("up").value("state", ""), "running");
}

TEST(MainPid, AMainPidOutsideTheServiceIsIgnored) {
  TempDir dir;
  const std::string stranger = std::to_string(::getpid());  // this test: not the service's
  Superd d(dir, "[service.up]\ncommand = " + cmd({"--notify", "MAINPID=" + stranger, "--notify", "MAINPID=12x",
                                                  "--notify", "READY=1", "--pause"}) +
                    "\nready = \"notify\"\n");
  ASSERT_TRUE(d.start()) << d.daemon_log();
  ASSERT_TRUE(d.wait_state("up", "running")) << d.daemon_log();
  const pid_t started = d.status("up").value("pid", 0);
  ASSERT_TRUE(wait_until([&] { return d.daemon_log().find("MAINPID=12x") != std::string::npos; }))
      << d.daemon_log();
  const std::string log = d.daemon_log();
  EXPECT_NE(log.find("up: MAINPID=" + stranger + " from pid " + std::to_string(started) +
                     " ignored: not a process of this service (its session or cgroup)"),
            std::string::npos)
      << log;
  EXPECT_NE(log.find("up: MAINPID=12x from pid " + std::to_string(started) + " ignored: not a pid"),
            std::string::npos)
      << log;
  EXPECT_EQ(d.status("up").value("pid", 0), started);
}

}  // namespace
}  // namespace superd::test
