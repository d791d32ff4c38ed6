// superd as a container's init: PID 1 of a real PID namespace (`unshare --pid --fork
// --mount-proc`, no container runtime), and `--init` under another init. Each test
// watches the namespace from outside: superd's host pid is the child of unshare, and
// unshare exits with superd's exit status.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "tests/integration/harness.h"

namespace superd::test {
namespace {

using Clock = std::chrono::steady_clock;

// The children of `pid`, from /proc/PID/task/*/children (empty when it is gone).
std::vector<pid_t> children_of(pid_t pid) {
  std::vector<pid_t> out;
  std::ifstream in("/proc/" + std::to_string(pid) + "/task/" + std::to_string(pid) + "/children");
  for (pid_t child; in >> child;) out.push_back(child);
  return out;
}

// superd under `unshare --pid --fork --mount-proc` (or, with `init_flag`, plain
// `superd --init` in this namespace), on a config of the test's own.
class InitSuperd {
 public:
  InitSuperd(TempDir& dir, const std::string& services, const std::string& supervisor_extra,
             bool in_namespace = true, bool init_flag = false)
      : dir_(dir), in_namespace_(in_namespace), init_flag_(init_flag) {
    // cgroup = "off" unless a test says otherwise: as PID 1 superd would take the
    // namespace's cgroup, here the host's root, which tests must not touch.
    const std::string cgroup =
        supervisor_extra.find("cgroup") == std::string::npos ? "cgroup = \"off\"\n" : "";
    write_file(dir / "super.toml", "[supervisor]\nsocket = " + q(socket()) + "\nstate_dir = " +
                                       q(dir / "state") + "\nlog_dir = " + q(dir / "log") +
                                       "\nlog_level = \"debug\"\n" + cgroup +
                                       supervisor_extra + "\n" + services);
  }
  ~InitSuperd() {
    if (outer_ > 0 && !reaped_) {
      ::kill(outer_, SIGKILL);
      if (host_pid_ > 0) ::kill(host_pid_, SIGKILL);
      ::waitpid(outer_, nullptr, 0);
    }
  }
  std::string socket() const { return dir_ / "run/super.sock"; }
  std::string log() const { return read_file(dir_ / "superd.stderr"); }
  pid_t host_pid() const { return host_pid_; }

  // Starts it; with `wait_socket`, until superctl gets an answer. False with the log.
  bool start(bool wait_socket = true) {
    std::vector<std::string> argv;
    if (in_namespace_) argv = {"/usr/bin/unshare", "--pid", "--fork", "--mount-proc"};
    argv.push_back(superd_bin());
    if (init_flag_) argv.push_back("--init");
    argv.insert(argv.end(), {"-c", dir_ / "super.toml"});
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    const std::string err = dir_ / "superd.stderr";
    outer_ = ::fork();
    if (outer_ == 0) {
      int fd = ::open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      ::dup2(fd, 2);
      ::dup2(fd, 1);
      ::execv(args[0], args.data());
      ::_exit(126);
    }
    if (!in_namespace_) {
      host_pid_ = outer_;
    } else if (!wait_until([&] {
                 auto kids = children_of(outer_);
                 if (!kids.empty()) host_pid_ = kids.front();
                 return host_pid_ > 0 || exited();
               })) {
      return false;
    }
    if (!wait_socket) return true;
    return wait_until(
        [&] { return exited() || run({superctl_bin(), "-s", socket(), "status"}).exit_code != 69; },
        20s) && !exited();
  }
  bool exited() {
    if (reaped_) return true;
    int status = 0;
    if (::waitpid(outer_, &status, WNOHANG) == outer_) {
      reaped_ = true;
      exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    return reaped_;
  }
  // Waits (bounded) for the exit; its code, or -1.
  int wait_exit(std::chrono::milliseconds timeout) {
    wait_until([&] { return exited(); }, timeout);
    return reaped_ ? exit_code_ : -1;
  }
  RunResult ctl(const std::vector<std::string>& args) const {
    std::vector<std::string> argv = {superctl_bin(), "-s", socket()};
    argv.insert(argv.end(), args.begin(), args.end());
    return run(argv);
  }

 private:
  TempDir& dir_;
  bool in_namespace_;
  bool init_flag_;
  pid_t outer_ = -1;     // unshare (or superd itself without a namespace)
  pid_t host_pid_ = -1;  // superd, as this namespace sees it
  bool reaped_ = false;
  int exit_code_ = -1;
};

// Lines of `log` that contain `what`, in order.
size_t line_of(const std::string& log, const std::string& what) {
  std::istringstream in(log);
  size_t n = 0;
  for (std::string line; std::getline(in, line); ++n) {
    if (line.find(what) != std::string::npos) return n;
  }
  return std::string::npos;
}

TEST(Pid1, ReapsEveryOrphanOfTheNamespace) {
  TempDir dir;
  // A service that forks 100 children into sessions of their own and exits: they are
  // orphans of no service (its stop does not reach them), and as PID 1 superd becomes
  // their parent. They live while the gate file exists, so all 100 are there at once
  // however slowly the machine forks; then the gate goes and they all exit.
  const std::string gate = dir / "gate";
  write_file(gate, "");
  InitSuperd d(dir,
               "[service.spawner]\ncommand = " +
                   cmd({"--children-while", "100", gate, "--exit", "0"}) +
                   "\nrestart = \"never\"\nstart_seconds = 0\n",
               "");
  ASSERT_TRUE(d.start()) << d.log();
  size_t seen = 0;
  ASSERT_TRUE(wait_until(
      [&] {
        seen = children_of(d.host_pid()).size();
        return seen >= 100;
      },
      30s))
      << "orphans seen as superd's children: " << seen << "\n" << d.log();
  ::unlink(gate.c_str());
  // They end; superd reaps every one of them: no child, zombie or not, remains.
  EXPECT_TRUE(wait_until([&] { return children_of(d.host_pid()).empty(); }, 10s))
      << children_of(d.host_pid()).size() << " children left, "
      << zombie_children_of(d.host_pid()).size() << " of them zombies";
  EXPECT_TRUE(zombie_children_of(d.host_pid()).empty());
  ::kill(d.host_pid(), SIGTERM);
  EXPECT_EQ(d.wait_exit(20s), 0) << d.log();
}

TEST(Pid1, SigtermStopsInReverseOrderThenSweepsWhatIsLeft) {
  TempDir dir;
  const std::string services =
      "[service.base]\ncommand = " + cmd({"--pause"}) +
      "\n[service.middle]\ncommand = " + cmd({"--pause"}) + "\nafter = [\"base\"]\n" +
      // A process outside any service: started by `top`, in a session of its own, and it
      // ignores TERM. Without cgroups nothing but the init's sweep reaches it.
      "[service.top]\ncommand = " + cmd({"--daemonize", dir / "escapee.pid", "--pause"}) +
      "\nafter = [\"middle\"]\n";
  InitSuperd d(dir, services, "shutdown_timeout = \"10s\"\ncgroup = \"off\"\n");
  ASSERT_TRUE(d.start()) << d.log();
  ASSERT_TRUE(wait_until([&] { return file_exists(dir / "escapee.pid"); })) << d.log();
  ASSERT_TRUE(wait_until([&] {
    return d.ctl({"status", "top"}).exit_code == 0 && d.ctl({"status", "base"}).exit_code == 0;
  }));

  const auto t0 = Clock::now();
  ASSERT_EQ(::kill(d.host_pid(), SIGTERM), 0);
  const int code = d.wait_exit(30s);
  const auto took = Clock::now() - t0;
  const std::string log = d.log();
  EXPECT_EQ(code, 0) << log;
  // Reverse `after` order: top, then middle, then base.
  const size_t top = line_of(log, "top: running -> stopping");
  const size_t middle = line_of(log, "middle: running -> stopping");
  const size_t base = line_of(log, "base: running -> stopping");
  ASSERT_NE(top, std::string::npos) << log;
  EXPECT_LT(top, middle) << log;
  EXPECT_LT(middle, base) << log;
  // Then the sweep: TERM to what is left (the escapee), which ignores it, then KILL.
  EXPECT_NE(line_of(log, "every service is down: sent TERM to 1 process left"), std::string::npos)
      << log;
  EXPECT_NE(line_of(log, "1 process ignored TERM for 2s: sent KILL"), std::string::npos) << log;
  EXPECT_LT(line_of(log, "base: stopping -> stopped"), line_of(log, "sent TERM to 1 process"));
  // Within the budget: the stops, the 2 s grace, and slack for a loaded machine.
  EXPECT_LT(took, 20s);
  std::printf("[pid1] SIGTERM to exit: %.2f s\n", std::chrono::duration<double>(took).count());
}

TEST(Pid1, TheBudgetCutsAStopThatTakesTooLong) {
  TempDir dir;
  // stop_timeout 60 s, but the whole stack has 1 s: the init sweeps at 1 s, not 60 s.
  InitSuperd d(dir,
               "[service.slow]\ncommand = " + cmd({"--ignore-term", "--pause"}) +
                   "\nstop_timeout = \"60s\"\n",
               "shutdown_timeout = \"1s\"\n");
  ASSERT_TRUE(d.start()) << d.log();
  ASSERT_TRUE(wait_until([&] { return d.ctl({"status", "slow"}).exit_code == 0; }));
  const auto t0 = Clock::now();
  ::kill(d.host_pid(), SIGTERM);
  EXPECT_EQ(d.wait_exit(30s), 0) << d.log();
  EXPECT_LT(Clock::now() - t0, 15s);
  EXPECT_NE(line_of(d.log(), "shutdown_timeout passed: sent TERM to"), std::string::npos)
      << d.log();
}

TEST(Pid1, ACriticalServiceFailingEndsTheStackWithItsExitCode) {
  TempDir dir;
  InitSuperd d(dir,
               "[service.other]\ncommand = " + cmd({"--pause"}) +
                   "\n[service.main]\ncommand = " + cmd({"--sleep", "300", "--exit", "3"}) +
                   "\nrestart = \"never\"\ncritical = true\nstart_seconds = 0\n",
               "");
  ASSERT_TRUE(d.start(/*wait_socket=*/false)) << d.log();
  EXPECT_EQ(d.wait_exit(20s), 3) << d.log();
  EXPECT_NE(line_of(d.log(), "critical service main failed"), std::string::npos) << d.log();
  EXPECT_NE(line_of(d.log(), "other: starting -> stopping"), std::string::npos) << d.log();
}

TEST(Pid1, ACriticalServiceKilledBySignalGives128PlusTheSignal) {
  TempDir dir;
  InitSuperd d(dir,
               "[service.main]\ncommand = " + cmd({"--sleep", "300", "--kill-self", "9"}) +
                   "\nrestart = \"never\"\ncritical = true\nstart_seconds = 0\n",
               "");
  ASSERT_TRUE(d.start(/*wait_socket=*/false)) << d.log();
  EXPECT_EQ(d.wait_exit(20s), 137) << d.log();
}

TEST(Pid1, AnInvalidConfigExitsOneAtOnceWithTheErrorsOnStderr) {
  TempDir dir;
  InitSuperd d(dir, "[service.x]\ncommand = \"not an array\"\nbogus_key = 1\n", "");
  ASSERT_TRUE(d.start(/*wait_socket=*/false));
  EXPECT_EQ(d.wait_exit(10s), 1);
  const std::string log = d.log();
  EXPECT_NE(log.find("super.toml:"), std::string::npos) << log;
  EXPECT_NE(log.find("bogus_key"), std::string::npos) << log;
  EXPECT_NE(log.find("refusing to start"), std::string::npos) << log;
}

TEST(InitFlag, UnderAnotherInitTheSweepReachesEveryDescendant) {
  TempDir dir;
  // Not PID 1: `--init` gives the same duties. The escapee is in this namespace, so its
  // pid file names a pid the test can check.
  InitSuperd d(dir,
               "[service.top]\ncommand = " + cmd({"--daemonize", dir / "escapee.pid", "--pause"}) +
                   "\n",
               "cgroup = \"off\"\n", /*in_namespace=*/false, /*init_flag=*/true);
  ASSERT_TRUE(d.start()) << d.log();
  ASSERT_TRUE(wait_until([&] { return file_exists(dir / "escapee.pid"); }));
  const auto escapee = proc_key(std::stoi(read_file(dir / "escapee.pid")));
  ASSERT_TRUE(process_alive(escapee));
  ::kill(d.host_pid(), SIGTERM);
  EXPECT_EQ(d.wait_exit(20s), 0) << d.log();
  EXPECT_TRUE(wait_until([&] { return !process_alive(escapee); }, 5s))
      << "the escapee " << escapee.pid << " outlived superd --init\n" << d.log();
  EXPECT_NE(line_of(d.log(), "sent TERM to 1 process left"), std::string::npos) << d.log();
}

}  // namespace
}  // namespace superd::test
