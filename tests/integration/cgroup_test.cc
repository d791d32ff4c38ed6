// A real superd with cgroups on this host (v2 leaves below a private parent on the
// cgroup2 mount, given as [supervisor] cgroup = PATH; memory and pids as v1 leaves below
// the test's own v1 cgroups), and its fallbacks: what the tests ask for.
#include <gtest/gtest.h>
#include <dirent.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <random>
#include <thread>

#include "harness.h"
#include "fake_systemd.h"
#include "proc/cgroup_host.h"

namespace superd::test {
namespace {

// A private parent below the cgroup2 mount, and everything superd makes for it, removed
// after (bounded: the leaves are empty once superd has stopped its services).
class CgroupParent {
 public:
  CgroupParent() {
    std::string error;
    auto host = read_cgroup_host(&error);
    if (!host || host->v2_mount.empty()) return;
    host_ = *host;
    std::mt19937_64 rng(std::random_device{}());
    path_ = host_.v2_mount + "/superd-test-" + std::to_string(rng() % 1000000000);
  }
  ~CgroupParent() {
    if (path_.empty()) return;
    const std::string name = path_.substr(path_.find_last_of('/') + 1);
    std::vector<std::string> tops = {path_};
    for (const auto& v1 : host_.v1) tops.push_back(v1.own_dir + "/" + name);
    for (const auto& top : tops) {
      for (int pass = 0; pass < 50; ++pass) {
        std::vector<std::string> dirs;
        if (auto* d = ::opendir(top.c_str())) {
          while (auto* e = ::readdir(d)) {
            std::string n = e->d_name;
            if (e->d_type == DT_DIR && n != "." && n != "..") dirs.push_back(top + "/" + n);
          }
          ::closedir(d);
        }
        for (const auto& dir : dirs) {
          std::ofstream(dir + "/cgroup.kill") << "1";
          ::rmdir(dir.c_str());
        }
        if (::rmdir(top.c_str()) == 0 || errno == ENOENT) break;
        std::this_thread::sleep_for(20ms);
      }
    }
  }
  bool usable() const { return !path_.empty(); }
  const std::string& path() const { return path_; }
  std::string supervisor_toml() const { return "cgroup = " + q(path_) + "\n"; }
  const CgroupHost& host() const { return host_; }

 private:
  CgroupHost host_;
  std::string path_;
};

#define NEED_CGROUPS(parent) \
  if (!(parent).usable()) GTEST_SKIP() << "no cgroup2 mount here"

pid_t pid_in(const std::string& file) {
  std::string text = read_file(file);
  return text.empty() ? 0 : std::stoi(text);
}

// `--daemonize`'s grandchild writes its pidfile before the child between them exits:
// true once only the main process and the daemon are left in the leaf `dir`.
bool only_main_and_daemon_left(const std::string& dir) {
  return wait_until([&] {
    const std::string procs = read_file(dir + "/cgroup.procs");
    return std::count(procs.begin(), procs.end(), '\n') == 2;
  }, 5s);
}

std::string daemonizer(const std::string& pidfile) {
  return "[service.d]\ncommand = " + cmd({"--daemonize", pidfile, "--pause"}) +
         "\nstop_timeout = \"1s\"\nstart_seconds = \"200ms\"\n";
}

TEST(Cgroups, StopReachesADoubleForkedSetsidDaemonThatIgnoresTerm) {
  CgroupParent parent;
  NEED_CGROUPS(parent);
  TempDir tmp;
  const std::string pidfile = tmp / "daemon.pid";
  Superd d(tmp, daemonizer(pidfile), parent.supervisor_toml());
  ASSERT_TRUE(d.start()) << d.daemon_log();
  ASSERT_TRUE(d.wait_state("d", "running")) << d.daemon_log();
  ASSERT_TRUE(wait_until([&] { return pid_in(pidfile) > 0; }));
  const auto daemon = proc_key(pid_in(pidfile));
  EXPECT_TRUE(process_alive(daemon));
  EXPECT_EQ(d.status("d").value("cgroup", ""), parent.path() + "/d");

  auto r = d.ctl({"stop", "d"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_FALSE(process_alive(daemon)) << "it left the process group, not the cgroup";
  EXPECT_TRUE(wait_until([&] { return !file_exists(parent.path() + "/d"); }, 5s))
      << "the empty leaf of a stopped service is removed";
}

TEST(Cgroups, KillOfTheMainPidStopsTheDaemonBeforeTheRestart) {
  CgroupParent parent;
  NEED_CGROUPS(parent);
  TempDir tmp;
  const std::string pidfile = tmp / "daemon.pid";
  Superd d(tmp, daemonizer(pidfile), parent.supervisor_toml());
  ASSERT_TRUE(d.start()) << d.daemon_log();
  ASSERT_TRUE(d.wait_state("d", "running")) << d.daemon_log();
  ASSERT_TRUE(wait_until([&] { return pid_in(pidfile) > 0; }));
  const auto daemon = proc_key(pid_in(pidfile));
  const pid_t main = d.status("d").value("pid", 0);
  ASSERT_GT(main, 0);
  ::kill(main, SIGKILL);
  const pid_t next = d.wait_new_pid("d", main, 15s);
  ASSERT_GT(next, 0) << d.daemon_log();
  EXPECT_FALSE(process_alive(daemon)) << "the old daemon was stopped before the new start";
  ASSERT_TRUE(wait_until([&] { return pid_in(pidfile) != daemon.pid && pid_in(pidfile) > 0; }));
  const auto second = proc_key(pid_in(pidfile));
  EXPECT_TRUE(process_alive(second));
  EXPECT_EQ(d.stop(), 0);
  EXPECT_FALSE(process_alive(second)) << "and at shutdown";
}

TEST(Cgroups, ACrashedSuperdsLeftoversAreStoppedByTheirCgroup) {
  CgroupParent parent;
  NEED_CGROUPS(parent);
  TempDir tmp;
  const std::string pidfile = tmp / "daemon.pid";
  {
    Superd first(tmp, daemonizer(pidfile), parent.supervisor_toml());
    ASSERT_TRUE(first.start()) << first.daemon_log();
    ASSERT_TRUE(first.wait_state("d", "running")) << first.daemon_log();
    ASSERT_TRUE(wait_until([&] { return pid_in(pidfile) > 0; }));
    ASSERT_TRUE(only_main_and_daemon_left(parent.path() + "/d")) << read_file(parent.path() + "/d/cgroup.procs");
    first.kill_hard();
  }
  const auto daemon = proc_key(pid_in(pidfile));
  ASSERT_TRUE(process_alive(daemon));
  Superd second(tmp, daemonizer(pidfile), parent.supervisor_toml());
  ASSERT_TRUE(second.start()) << second.daemon_log();
  EXPECT_FALSE(process_alive(daemon)) << second.daemon_log();
  EXPECT_NE(second.daemon_log().find("d: stopped 2 processes left by the previous superd"), std::string::npos)
      << second.daemon_log();
  EXPECT_TRUE(second.wait_state("d", "running"));
}

// Under systemd (played by the test) a crashed superd's service is adopted in its leaf:
// the same pids run, and a stop still reaches the double-forked daemon through the
// cgroup, though neither process is the new superd's child.
TEST(Cgroups, AnAdoptedServiceIsStillStoppedByItsCgroup) {
  CgroupParent parent;
  NEED_CGROUPS(parent);
  TempDir tmp;
  FakeSystemd systemd(tmp / "systemd-notify");
  ASSERT_TRUE(systemd.bound());
  const std::string pidfile = tmp / "daemon.pid";
  KillAtExit guard;
  pid_t main = 0;
  {
    Superd first(tmp, daemonizer(pidfile), parent.supervisor_toml());
    ASSERT_TRUE(first.start({systemd.env()})) << first.daemon_log();
    ASSERT_TRUE(first.wait_state("d", "running")) << first.daemon_log();
    ASSERT_TRUE(wait_until([&] { return pid_in(pidfile) > 0; }));
    main = first.status("d").value("pid", 0);
    guard.add(proc_key(main));
    ASSERT_TRUE(wait_until([&] { return systemd.count("d.") == 2; }));
    first.kill_hard();
  }
  const auto daemon = proc_key(pid_in(pidfile));
  guard.add(daemon);
  Superd second(tmp, daemonizer(pidfile), parent.supervisor_toml());
  second.set_listen_fds(systemd.stored());
  ASSERT_TRUE(second.start({systemd.env()})) << second.daemon_log();
  ASSERT_TRUE(second.wait_state("d", "running")) << second.daemon_log();
  EXPECT_EQ(second.status("d").value("pid", 0), main) << second.daemon_log();
  EXPECT_NE(second.daemon_log().find("d: adopted pid " + std::to_string(main)), std::string::npos)
      << second.daemon_log();
  EXPECT_TRUE(process_alive(daemon)) << "adopted, not stopped as a leftover";
  EXPECT_EQ(second.status("d").value("cgroup", ""), parent.path() + "/d");
  auto r = second.ctl({"stop", "d"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err << second.daemon_log();
  EXPECT_FALSE(process_alive(daemon)) << "the cgroup's stop reached it";
  EXPECT_FALSE(process_alive(proc_key(main)));
}

TEST(Cgroups, OomKillIsTheExitReasonAndTheServiceRestarts) {
  CgroupParent parent;
  NEED_CGROUPS(parent);
  TempDir tmp;
  Superd d(tmp,
           "[service.hog]\ncommand = " + cmd({"--alloc", "200", "--pause"}) +
               "\nstart_seconds = \"100ms\"\nbackoff = { initial = \"100ms\", max = \"200ms\" }\n"
               "start_retries = 100\n[service.hog.resources]\nmemory_max = \"50MB\"\n"
               "[service.calm]\ncommand = " + cmd({"--pause"}) + "\n",
           parent.supervisor_toml());
  ASSERT_TRUE(d.start()) << d.daemon_log();
  ASSERT_TRUE(wait_until([&] { return d.status("hog").value("restarts", 0) >= 2; }, 15s)) << d.daemon_log();
  auto s = d.status("hog");
  EXPECT_EQ(s.value("last_exit", ""), "killed by the OOM killer (memory_max 50MB)") << s.dump();
  EXPECT_GE(s.value("oom_kills", 0), 1) << s.dump();
  EXPECT_TRUE(d.wait_state("calm", "running")) << "the rest of the host is untouched";
  EXPECT_NE(d.daemon_log().find("killed by the OOM killer (memory_max 50MB)"), std::string::npos);
}

TEST(Cgroups, PidsMaxContainsAForkLoop) {
  CgroupParent parent;
  NEED_CGROUPS(parent);
  TempDir tmp;
  Superd d(tmp,
           "[service.bomb]\ncommand = " + cmd({"--fork-loop", "100000", "--pause"}) +
               "\nstop_timeout = \"1s\"\n[service.bomb.resources]\npids_max = 20\n"
               "[service.calm]\ncommand = " + cmd({"--pause"}) + "\n",
           parent.supervisor_toml());
  ASSERT_TRUE(d.start()) << d.daemon_log();
  ASSERT_TRUE(d.wait_state("bomb", "running")) << d.daemon_log();
  ASSERT_TRUE(wait_until([&] { return d.status("bomb").value("pids_current", 0) >= 20; }, 10s))
      << d.status("bomb").dump();
  std::this_thread::sleep_for(300ms);  // the loop has hit the limit and stopped forking
  EXPECT_EQ(d.status("bomb").value("pids_current", 0), 20);
  EXPECT_NE(read_file(d.log_dir() + "/bomb.log").find("forked 19"), std::string::npos)
      << read_file(d.log_dir() + "/bomb.log");
  EXPECT_TRUE(d.wait_state("calm", "running"));
  EXPECT_EQ(d.ctl({"restart", "calm"}).exit_code, 0) << "superd and the others keep working";
  EXPECT_EQ(d.ctl({"stop", "bomb"}).exit_code, 0);
  EXPECT_EQ(d.status("bomb").value("state", ""), "stopped");
}

TEST(Cgroups, ReloadConfigAppliesAChangedLimitWithoutARestart) {
  CgroupParent parent;
  NEED_CGROUPS(parent);
  TempDir tmp;
  auto services = [](int pids) {
    return "[service.a]\ncommand = " + cmd({"--pause"}) + "\n[service.a.resources]\npids_max = " +
           std::to_string(pids) + "\n";
  };
  Superd d(tmp, services(20), parent.supervisor_toml());
  ASSERT_TRUE(d.start()) << d.daemon_log();
  ASSERT_TRUE(d.wait_state("a", "running")) << d.daemon_log();
  const pid_t pid = d.status("a").value("pid", 0);
  // pids.max of the leaf: in v2 where the host has it there, else in the v1 leaf.
  std::string file = parent.path() + "/a/pids.max";
  if (!file_exists(file)) {
    const std::string* v1 = parent.host().v1_dir("pids");
    if (!v1) GTEST_SKIP() << "no pids controller";
    file = *v1 + parent.path().substr(parent.path().find_last_of('/')) + "/a/pids.max";
  }
  EXPECT_EQ(read_file(file), "20\n");
  d.rewrite_services(services(30));
  auto r = d.ctl({"reload-config"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(read_file(file), "30\n");
  EXPECT_EQ(d.status("a").value("pid", 0), pid) << "no restart";
}

// Where memory and pids are v1 hierarchies (this host), a service without limits joins
// them right after its spawn (cgroup_join.h: entering one costs the spawn a grace period);
// the service here allocates only once it is seen there, so its memory is counted.
TEST(Cgroups, UsageInStatusIsCloseToProc) {
  CgroupParent parent;
  NEED_CGROUPS(parent);
  TempDir tmp;
  const std::string go = tmp.path() + "/go";
  Superd d(tmp, "[service.busy]\ncommand = " + cmd({"--wait-file", go, "--alloc", "64", "--burn", "400", "--pause"}) + "\n",
           parent.supervisor_toml());
  ASSERT_TRUE(d.start()) << d.daemon_log();
  ASSERT_TRUE(wait_until([&] { return d.status("busy").value("pid", 0) > 0; }, 10s)) << d.status("busy").dump();
  const pid_t busy = d.status("busy").value("pid", 0);
  for (const auto& v1 : parent.host().v1) {
    if (v1.controller == "cpu") continue;  // a leaf there only for cpu limits
    EXPECT_TRUE(wait_until([&] { return v1_cgroup_of(busy, v1.controller).ends_with("/busy"); }, 10s))
        << v1.controller << ": " << v1_cgroup_of(busy, v1.controller);
  }
  write_file(go, "");
  ASSERT_TRUE(wait_until([&] { return d.status("busy").value("cpu_usage_usec", 0) >= 400000; }, 10s))
      << d.status("busy").dump();
  auto s = d.status("busy");
  const pid_t pid = s.value("pid", 0);
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), {});
  std::istringstream fields(text.substr(text.rfind(')') + 2));
  std::vector<std::string> v;
  for (std::string f; fields >> f;) v.push_back(f);
  const double proc_usec = (std::stod(v[11]) + std::stod(v[12])) * 1e6 / ::sysconf(_SC_CLK_TCK);
  EXPECT_NEAR(s.value("cpu_usage_usec", 0.0), proc_usec, 50000 + proc_usec * 0.1) << s.dump();
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  double rss = 0;
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("VmRSS:", 0) == 0) rss = std::stod(line.substr(6)) * 1024;
  }
  if (s["memory_current"].is_number()) {
    EXPECT_NEAR(s.value("memory_current", 0.0), rss, rss * 0.2) << s.dump();
    EXPECT_GE(s.value("memory_peak", 0.0), s.value("memory_current", 0.0));
  }
  EXPECT_EQ(s.value("pids_current", 0), 1);
  // And in the table, in human units.
  auto r = d.ctl({"status"});
  EXPECT_NE(r.out.find("MEM"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("M  "), std::string::npos) << r.out;
}

TEST(Cgroups, OffFallsBackToProcessGroupsAndSaysSo) {
  TempDir tmp;
  Superd d(tmp, "[service.a]\ncommand = " + cmd({"--pause"}) + "\n", "cgroup = \"off\"\n");
  ASSERT_TRUE(d.start()) << d.daemon_log();
  ASSERT_TRUE(d.wait_state("a", "running")) << d.daemon_log();
  auto r = d.ctl({"status"});
  EXPECT_NE(r.out.find("cgroups: not used: [supervisor] cgroup = \"off\"; services run in process groups\n"),
            std::string::npos)
      << r.out;
  EXPECT_TRUE(d.status("a")["cgroup"].is_null());
  auto check = run({superd_bin(), "--check", "-c", d.config_path()});
  EXPECT_EQ(check.exit_code, 0) << check.err;
  EXPECT_NE(check.out.find("cgroups: not used: [supervisor] cgroup = \"off\""), std::string::npos) << check.out;
  EXPECT_EQ(d.ctl({"stop", "a"}).exit_code, 0);
}

TEST(Cgroups, LimitsWithoutCgroupsAreACheckError) {
  TempDir tmp;
  Superd d(tmp, "[service.a]\ncommand = " + cmd({"--pause"}) + "\n[service.a.resources]\npids_max = 5\n",
           "cgroup = \"off\"\n");
  auto check = run({superd_bin(), "--check", "-c", d.config_path()});
  EXPECT_EQ(check.exit_code, 1) << check.out << check.err;
  EXPECT_NE(check.err.find(":8:1: service 'a': resources: not enforced: cgroups are not used "
                           "([supervisor] cgroup = \"off\")"),
            std::string::npos)
      << check.err;
}

TEST(Cgroups, AReadOnlyCgroupFallsBackAndSaysSo) {
  CgroupParent parent;
  NEED_CGROUPS(parent);
  ASSERT_EQ(::mkdir(parent.path().c_str(), 0755), 0);
  TempDir tmp;
  const std::string stamp = tmp / "stamp";
  Superd d(tmp, "[service.a]\ncommand = " + cmd({"--stamp", stamp, "--exit", "0"}) + "\nrestart = \"never\"\n",
           parent.supervisor_toml());
  // In a mount namespace of its own where the cgroup2 mount is read-only (as in a
  // container with the default read-only /sys/fs/cgroup).
  const std::string mount = parent.host().v2_mount;
  const std::string prefix = "mount --bind " + mount + " " + mount + " && mount -o remount,bind,ro " + mount + " && ";
  auto check = run({"/usr/bin/unshare", "--mount", "--propagation", "private", "/bin/sh", "-c",
                    prefix + "exec " + superd_bin() + " --check -c " + d.config_path()});
  EXPECT_EQ(check.exit_code, 0) << check.err;
  EXPECT_NE(check.out.find("cgroups: not used: " + parent.path() + " is not writable: Read-only file system"),
            std::string::npos)
      << check.out << check.err;
  // The daemon itself: it starts the service in a process group and says why.
  auto daemon = run({"/usr/bin/unshare", "--mount", "--propagation", "private", "/bin/sh", "-c",
                     prefix + "exec " + superd_bin() + " -c " + d.config_path()},
                    {.timeout = 3s});
  EXPECT_NE(daemon.err.find("cgroups: not used: " + parent.path() + " is not writable: Read-only file system"),
            std::string::npos)
      << daemon.err;
  EXPECT_TRUE(file_exists(stamp)) << daemon.err;
}

}  // namespace
}  // namespace superd::test
