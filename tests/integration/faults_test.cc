// What production throws at a supervisor: its own kill -9, a full disk, too few fds, a
// fork/exec refused for lack of processes, a user deleted under a running service; and
// what a service must never get from superd (fds, environment, privileges).
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
#include <sstream>

#include "ipc/client.h"
#include "tests/integration/harness.h"

namespace superd::test {
namespace {

TEST(Crash, KillNineOfSuperdThenRestartRunsNothingTwice) {
  TempDir dir;
  const std::string pidfile = dir / "worker.pid";
  const int port = free_port();
  Superd d(dir, "[service.app]\ncommand = " +
                    cmd({"--child", "--pidfile", pidfile, "--pause", "--", "--pause"}) +
                    "\nlisten = [\"tcp:127.0.0.1:" + std::to_string(port) +
                    "\"]\nstart_seconds = \"50ms\"\nstop_timeout = \"2s\"\n"
                    "[service.worker]\ncommand = " + cmd({"--ignore-term", "--pause"}) +
                    "\nstart_seconds = \"50ms\"\nstop_timeout = \"300ms\"\n");
  ASSERT_TRUE(d.start());
  ASSERT_TRUE(d.wait_state("app", "running"));
  ASSERT_TRUE(d.wait_state("worker", "running"));
  ASSERT_TRUE(wait_until([&] { return file_exists(pidfile); }));
  const pid_t old_app = d.status("app")["pid"], old_worker = d.status("worker")["pid"];
  const pid_t old_child = std::stoi(read_file(pidfile));
  d.kill_hard();
  ASSERT_TRUE(process_alive(old_app) && process_alive(old_worker) && process_alive(old_child))
      << "a crash of superd leaves its services running";

  std::string why;
  ASSERT_TRUE(d.start({}, &why)) << why;
  ASSERT_TRUE(d.wait_state("app", "running")) << d.daemon_log();
  ASSERT_TRUE(d.wait_state("worker", "running"));
  // Every leftover was stopped before anything started: never two copies.
  EXPECT_FALSE(process_alive(old_app));
  EXPECT_FALSE(process_alive(old_child));
  EXPECT_FALSE(process_alive(old_worker)) << "ignored TERM: killed after stop_timeout";
  EXPECT_NE(d.status("app")["pid"], old_app);
  EXPECT_NE(d.daemon_log().find("a previous superd left 2 service process groups running"),
            std::string::npos)
      << d.daemon_log();
  EXPECT_NE(d.daemon_log().find("worker: killed the leftover process group"), std::string::npos);
  // The new app got the port: its listen socket bound (no "Address already in use").
  EXPECT_EQ(d.status("app")["reason"].get<std::string>().find("bind"), std::string::npos);
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

// A small tmpfs as log_dir: the disk fills, the service goes on, superd goes on, and
// when space returns the file says how much was lost.
TEST(Faults, FullLogDiskBlocksNobodyAndIsReportedWhenSpaceReturns) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to mount a tmpfs";
  TempDir dir;
  const std::string logs = dir / "log";
  std::filesystem::create_directories(logs);
  ASSERT_EQ(::mount("tmpfs", logs.c_str(), "tmpfs", 0, "size=1m,mode=0750"), 0) << strerror(errno);
  struct Unmount {
    std::string path;
    ~Unmount() { ::umount2(path.c_str(), MNT_DETACH); }
  } unmount{logs};
  const std::string done = dir / "done";
  const std::string go_on = dir / "go-on";
  // 4 MB of lines into a 1 MB disk, then a marker file: the writer was never blocked.
  const std::string script = dir / "writer.sh";
  write_file(script, "#!/bin/sh\n" + testprog() + " --lines 40000 --exit 0\ntouch " + done +
                         "\nwhile [ ! -f " + go_on + " ]; do sleep 0.05; done\necho after-space-returned\n"
                         "exec " + testprog() + " --pause\n");
  ::chmod(script.c_str(), 0755);
  Superd d(dir, "[service.writer]\ncommand = [" + q(script) +
                    "]\nstart_seconds = \"50ms\"\nlog_max_bytes = \"100MB\"\n");
  ASSERT_TRUE(d.start());
  ASSERT_TRUE(wait_until([&] { return file_exists(done); }, 20s)) << d.daemon_log();
  // superd still answers while the disk is full.
  ASSERT_TRUE(d.wait_state("writer", "running"));
  EXPECT_EQ(d.ctl({"status", "writer"}).exit_code, 0);
  // Space returns: the log shrinks (as an operator would truncate it).
  ASSERT_EQ(::truncate((logs + "/writer.log").c_str(), 0), 0);
  write_file(go_on, "");
  ASSERT_TRUE(wait_until([&] {
    return read_file(logs + "/writer.log").find("after-space-returned") != std::string::npos;
  }, 10s)) << d.daemon_log();
  const std::string text = read_file(logs + "/writer.log");
  EXPECT_NE(text.find("bytes of output were dropped (writing " + logs + "/writer.log: No space left on device)"),
            std::string::npos)
      << text.substr(0, 500);
}

TEST(Faults, OutOfFdsRefusesClientsAndRecovers) {
  TempDir dir;
  Superd d(dir, "[service.app]\ncommand = " + cmd({"--pause"}) + "\nstart_seconds = \"50ms\"\n");
  d.set_nofile_limit(48);
  ASSERT_TRUE(d.start());
  ASSERT_TRUE(d.wait_state("app", "running"));
  std::vector<std::unique_ptr<ipc::Client>> hogs;
  for (int i = 0; i < 80; ++i) {
    auto c = std::make_unique<ipc::Client>();
    if (!c->connect(d.socket())) hogs.push_back(std::move(c));
  }
  // Some got through, the rest were refused or closed; superd is still alive.
  EXPECT_TRUE(process_alive(d.pid()));
  hogs.clear();
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
    const unsigned long value = std::stoul(flags, nullptr, 8);
    EXPECT_TRUE(value & O_CLOEXEC) << "fd " << fd << " flags " << flags << " -> "
                                   << std::filesystem::read_symlink("/proc/" + std::to_string(d.pid()) + "/fd/" + e->d_name);
    ++checked;
  }
  ::closedir(dp);
  EXPECT_GT(checked, 5);
  EXPECT_EQ(d.stop(5s), 0) << "superd must exit once its services are down";
}

}  // namespace
}  // namespace superd::test
