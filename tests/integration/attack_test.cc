// superd's own attack surface (issue 15): a local user who can write a directory superd
// uses as root, or a service that writes hostile bytes, tries for real to make root
// read, create, chown or hang on something else. The target stays as it was, superd
// keeps answering, and `superd --check` names the unsafe path.
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <functional>

#include "base/fd.h"
#include "ipc/client.h"
#include "tests/integration/harness.h"

namespace superd::test {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::string suffix() { return std::to_string(::getpid() % 100000); }

RunResult ctl(const Superd& d, const std::vector<std::string>& args, const RunOptions& opt = {}) {
  std::vector<std::string> argv = {superctl_bin(), "-s", d.socket()};
  argv.insert(argv.end(), args.begin(), args.end());
  return run(argv, opt);
}

std::string show(const RunResult& r) {
  return "exit " + std::to_string(r.exit_code) + "\nstdout:\n" + r.out + "stderr:\n" + r.err;
}

RunResult check_config(const Superd& d) { return run({superd_bin(), "--check", "-c", d.config_path()}); }

// `body` runs as `user` (its groups too) in a forked child, for at most `limit`; the
// child's exit code (-1 when it had to be killed).
int as_user(const TestUser& user, const std::function<void()>& body, std::chrono::milliseconds limit) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    if (::initgroups(user.name().c_str(), user.gid()) != 0 || ::setgid(user.gid()) != 0 ||
        ::setuid(user.uid()) != 0)
      _exit(99);
    body();
    _exit(0);
  }
  const auto deadline = std::chrono::steady_clock::now() + limit;
  int status = 0;
  while (::waitpid(pid, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      return -1;
    }
    ::usleep(2000);
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

struct FileState {
  std::string content;
  uid_t uid = 0;
  mode_t mode = 0;
  nlink_t links = 0;
  bool operator==(const FileState&) const = default;
};
FileState state_of(const std::string& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) return {};
  return {read_file(path), st.st_uid, st.st_mode & 07777, st.st_nlink};
}

// A root-only file of the kind an attacker wants: /etc/shadow's stand-in.
std::string make_secret(TempDir& dir) {
  const std::string secret = dir / "shadow";
  write_file(secret, "root:$6$secret-hash:19000:0:99999:7:::\n");
  ::chmod(secret.c_str(), 0600);
  return secret;
}

std::string mkdir_owned(const std::string& path, mode_t mode, uid_t uid, gid_t gid) {
  ::mkdir(path.c_str(), mode);
  ::chmod(path.c_str(), mode);
  ::chown(path.c_str(), uid, gid);
  return path;
}

// ---- log files ----------------------------------------------------------------------

// The log directory is writable by a group of log admins (allowed, with a reason); one
// of them races links and FIFOs into the names superd opens, rotates and tails.
TEST(Attack, LogLinksAndFifosInAGroupWritableLogDirAreNeverFollowed) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to create users";
  const std::string group = "sda-lg" + suffix();
  TestUser admin("sda-la" + suffix(), {group});
  TempDir dir;
  const std::string secret = make_secret(dir);
  const std::string victim = dir / "cron-job";  // where a dangling link points
  const std::string logs = mkdir_owned(dir / "applogs", 0775, 0, admin.group_id(group));
  const std::string log = logs + "/app.log";
  const FileState before = state_of(secret);
  Superd d(dir,
           "[service.app]\ncommand = [\"/bin/sh\", \"-c\", \"while :; do echo "
           "output-line-of-the-service-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx; sleep 0.002; done\"]\n"
           "stdout = " + q(log) + "\nlog_max_bytes = \"4KiB\"\nlog_backups = 1\n",
           "allow_group_writable = { " + q(logs) + " = \"log admins rotate here\" }\n");
  std::string why;
  ASSERT_TRUE(d.start({}, &why)) << why;
  ASSERT_TRUE(d.wait_state("app", "running"));
  ASSERT_TRUE(wait_until([&] { return file_exists(log + ".1"); })) << "rotation happens";

  // The race, bounded: links to the secret and to a file root would create, and FIFOs,
  // put back every time superd rotates them away, while operators read the log.
  const pid_t racer = ::fork();
  if (racer == 0) {
    as_user(admin, [&] {
      const auto end = std::chrono::steady_clock::now() + 3s;
      for (int i = 0; std::chrono::steady_clock::now() < end; ++i) {
        ::unlink(log.c_str());
        if (i % 3 == 2) ::mkfifo(log.c_str(), 0666); else ::symlink(victim.c_str(), log.c_str());
        ::unlink((log + ".1").c_str());
        ::symlink(secret.c_str(), (log + ".1").c_str());
        ::usleep(500);
      }
    }, 5s);
    _exit(0);
  }
  for (int i = 0; i < 10; ++i) {
    auto r = ctl(d, {"log", "app", "-n", "100000"});
    EXPECT_EQ(r.out.find("secret-hash"), std::string::npos) << "the secret was read back: " << show(r);
    EXPECT_NE(r.exit_code, -2) << "superctl log hung: " << show(r);
  }
  ASSERT_EQ(::waitpid(racer, nullptr, 0), racer);

  EXPECT_EQ(state_of(secret), before) << "the secret is untouched";
  EXPECT_FALSE(fs::exists(fs::symlink_status(victim))) << "root created nothing through a link";
  EXPECT_TRUE(d.alive());
  EXPECT_EQ(d.status("app").value("state", ""), "running") << d.status("app").dump();
  // What superd says about what it refuses.
  auto r = ctl(d, {"log", "app", "-n", "10"});
  EXPECT_TRUE(r.err.empty() || r.err.find("symlink") != std::string::npos ||
              r.err.find("FIFO") != std::string::npos)
      << show(r);

  // --check names a planted link as an error. superd is stopped first: a running one
  // would rotate the planted link away (to app.log.1) before --check looks at it.
  EXPECT_EQ(d.stop(), 0);
  ::unlink(log.c_str());
  ASSERT_EQ(::symlink(victim.c_str(), log.c_str()), 0);
  r = check_config(d);
  EXPECT_EQ(r.exit_code, 1) << show(r);
  EXPECT_NE(r.err.find("stdout '" + log + "' is a symlink"), std::string::npos) << show(r);
}

// A log directory the service's user owns: refused by --check and at start, naming it.
TEST(Attack, ALogDirectoryAServiceUserOwnsIsRefusedWithWhere) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to create users";
  TestUser www("sda-lw" + suffix());
  TempDir dir;
  const std::string logs = mkdir_owned(dir / "celery", 0755, www.uid(), www.gid());
  Superd d(dir, "[service.worker]\ncommand = " + cmd({"--pause"}) + "\nuser = " + q(www.name()) +
                    "\nstdout = " + q(logs + "/worker.log") + "\n");
  auto r = check_config(d);
  EXPECT_EQ(r.exit_code, 1) << show(r);
  EXPECT_NE(r.err.find("stdout '" + logs + "/worker.log': '" + logs + "' is owned by '" + www.name() +
                       "'"),
            std::string::npos)
      << show(r);
  EXPECT_NE(r.err.find("superd writes root-owned files there"), std::string::npos) << show(r);
  std::string why;
  EXPECT_FALSE(d.start({}, &why));
  EXPECT_FALSE(file_exists(logs + "/worker.log"));
}

// ---- env_file ------------------------------------------------------------------------

// The service's user owns its home and the env_file there (SPEC's /home/www/django/.env).
// It swaps the file for a FIFO, a link to /dev/zero and a link to a root-only file.
TEST(Attack, EnvFileFifoDevZeroOrForeignLinkFailsTheServiceNotSuperd) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to create users";
  TestUser www("sda-ew" + suffix());
  TempDir dir;
  const std::string secret = dir / "other.env";
  write_file(secret, "DB_PASSWORD=root-only-secret\n");
  ::chmod(secret.c_str(), 0600);
  const FileState before = state_of(secret);
  const std::string home = mkdir_owned(dir / "home", 0755, www.uid(), www.gid());
  const std::string env = home + "/.env";
  write_file(env, "GREETING=hello\n");
  ::chown(env.c_str(), www.uid(), www.gid());
  Superd d(dir, "[service.app]\ncommand = " + cmd({"--pause"}) + "\nuser = " + q(www.name()) +
                    "\nenv_file = " + q(env) + "\nstart_seconds = \"50ms\"\n");
  std::string why;
  ASSERT_TRUE(d.start({}, &why)) << why;
  ASSERT_TRUE(d.wait_state("app", "running"));

  struct Swap {
    std::function<void()> plant;
    std::string why;
  };
  const std::vector<Swap> swaps = {
      {[&] { ::mkfifo(env.c_str(), 0644); }, "is a FIFO, not a regular file"},
      {[&] { ::symlink("/dev/zero", env.c_str()); }, "is a symlink"},
      {[&] { ::symlink(secret.c_str(), env.c_str()); }, "is a symlink"},
  };
  for (const Swap& swap : swaps) {
    ASSERT_EQ(as_user(www, [&] {
      ::unlink(env.c_str());
      swap.plant();
    }, 5s), 0);
    auto r = ctl(d, {"restart", "app"});
    ASSERT_NE(r.exit_code, -2) << "superd hung on the env_file: " << show(r);
    EXPECT_TRUE(wait_until([&] {
      return d.status("app").value("reason", "").find("env_file '" + env + "' " + swap.why) !=
             std::string::npos;
    })) << swap.why << ": " << d.status("app").dump();
    // Still answering, and never ran with the secret.
    const json st = d.status("app");
    EXPECT_TRUE(st.contains("state")) << st.dump();
    EXPECT_NE(st.value("state", ""), "running") << st.dump();
    r = check_config(d);
    EXPECT_EQ(r.exit_code, 1) << show(r);
    EXPECT_NE(r.err.find("env_file '" + env + "' " + swap.why), std::string::npos) << show(r);
  }
  EXPECT_EQ(state_of(secret), before);
  EXPECT_TRUE(d.alive());
}

// ---- unix listen sockets -------------------------------------------------------------

// The service's user owns the socket's directory and races a rename and a symlink in
// between bind and chown: superd refuses the directory, so nothing is chowned at all.
TEST(Attack, UnixListenInADirectoryTheServiceOwnsChownsNothing) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to create users";
  TestUser www("sda-uw" + suffix());
  TempDir dir;
  const std::string secret = make_secret(dir);
  const FileState before = state_of(secret);
  const std::string run_dir = mkdir_owned(dir / "gunicorn", 0755, www.uid(), www.gid());
  const std::string sock = run_dir + "/app.sock";
  Superd d(dir, "[service.app]\ncommand = " + cmd({"--pause"}) + "\nuser = " + q(www.name()) +
                    "\nlisten = [" + q("unix:" + sock) + "]\n");
  auto r = check_config(d);
  EXPECT_EQ(r.exit_code, 1) << show(r);
  EXPECT_NE(r.err.find("listen 'unix:" + sock + "': '" + run_dir + "' is owned by '" + www.name()),
            std::string::npos)
      << show(r);
  EXPECT_NE(r.err.find("superd binds and chowns a socket there"), std::string::npos) << show(r);

  // Start anyway while the attacker races: superd refuses to start; the secret stays.
  const pid_t racer = ::fork();
  if (racer == 0) {
    as_user(www, [&] {
      const auto end = std::chrono::steady_clock::now() + 2s;
      while (std::chrono::steady_clock::now() < end) {
        ::rename(sock.c_str(), (run_dir + "/moved").c_str());
        ::symlink(secret.c_str(), sock.c_str());
        ::unlink(sock.c_str());
      }
    }, 4s);
    _exit(0);
  }
  std::string why;
  EXPECT_FALSE(d.start({}, &why));
  ASSERT_EQ(::waitpid(racer, nullptr, 0), racer);
  EXPECT_EQ(state_of(secret), before) << "the secret is still root's, 0600";
}

// ---- the control socket's group ---------------------------------------------------

void set_socket_group(const Superd& d, const std::string& from, const std::string& to) {
  std::string text = read_file(d.config_path());
  const std::string old_line = "socket_group = " + q(from);
  const size_t at = text.find(old_line);
  ASSERT_NE(at, std::string::npos) << text;
  text.replace(at, old_line.size(), "socket_group = " + q(to));
  write_file(d.config_path(), text);
}

TEST(Attack, SocketGroupChangedByReloadTakesEffectOrIsRefused) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to create users";
  const std::string g1 = "sda-g1" + suffix(), g2 = "sda-g2" + suffix();
  TestUser old_op("sda-o1" + suffix(), {g1});
  TestUser new_op("sda-o2" + suffix(), {g2});
  TempDir dir;
  Superd d(dir, "[service.app]\ncommand = " + cmd({"--pause"}) + "\n", "socket_group = " + q(g1));
  std::string why;
  ASSERT_TRUE(d.start({}, &why)) << why;
  ASSERT_TRUE(d.wait_state("app", "running"));
  EXPECT_EQ(ctl(d, {"status"}, {.user = &old_op}).exit_code, 0);
  EXPECT_EQ(ctl(d, {"status"}, {.user = &new_op}).exit_code, 69);

  // Takes effect: the socket's group is the new one, at once.
  set_socket_group(d, g1, g2);
  auto r = ctl(d, {"reload-config"});
  ASSERT_EQ(r.exit_code, 0) << show(r);
  struct stat st {};
  ASSERT_EQ(::stat(d.socket().c_str(), &st), 0);
  EXPECT_EQ(st.st_gid, new_op.group_id(g2));
  EXPECT_EQ(st.st_mode & 07777, 0660u);
  r = ctl(d, {"status"}, {.user = &new_op});
  EXPECT_EQ(r.exit_code, 0) << show(r);
  r = ctl(d, {"stop", "app"}, {.user = &old_op});
  EXPECT_EQ(r.exit_code, 69) << "the old group is out: " << show(r);
  EXPECT_EQ(d.status("app").value("state", ""), "running");

  // Refused: a group that does not exist; nothing changed, and it says so.
  set_socket_group(d, g2, "sda-none" + suffix());
  r = ctl(d, {"reload-config"});
  EXPECT_EQ(r.exit_code, 1) << show(r);
  EXPECT_NE(r.err.find("sda-none" + suffix()), std::string::npos) << show(r);
  ASSERT_EQ(::stat(d.socket().c_str(), &st), 0);
  EXPECT_EQ(st.st_gid, new_op.group_id(g2));
  EXPECT_EQ(ctl(d, {"status"}, {.user = &new_op}).exit_code, 0);
}

// socket_group is a service's own group: every process of the service could stop,
// disable and reconfigure every other one. Accepted (the operator may mean it), but said.
TEST(Attack, CheckWarnsWhenSocketGroupIsAServicesGroup) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to create users";
  TestUser www("sda-sw" + suffix());
  TempDir dir;
  Superd d(dir, "[service.app]\ncommand = " + cmd({"--pause"}) + "\nuser = " + q(www.name()) + "\n",
           "socket_group = " + q(www.name()));
  auto r = check_config(d);
  EXPECT_EQ(r.exit_code, 0) << show(r);
  EXPECT_NE(r.err.find("warning: socket_group '" + www.name() + "' is a group service 'app' runs as"),
            std::string::npos)
      << show(r);
  // An operators group of its own draws no warning.
  const std::string ops = "sda-ops" + suffix();
  TestUser op("sda-op" + suffix(), {ops});
  Superd ok(dir, "[service.app]\ncommand = " + cmd({"--pause"}) + "\nuser = " + q(www.name()) + "\n",
            "socket_group = " + q(ops));
  r = check_config(ok);
  EXPECT_EQ(r.exit_code, 0) << show(r);
  EXPECT_EQ(r.err.find("warning: socket_group"), std::string::npos) << show(r);
}

// The notify socket: root:GROUP 0660 (the service's group), so another local user cannot
// even send; a foreign sender that can is warned about once, not once per datagram.
TEST(Attack, NotifySocketIsTheServicesGroupsAndForeignSendersDoNotFloodTheLog) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to create users";
  TestUser www("sda-nw" + suffix());
  TestUser outsider("sda-no" + suffix());
  TempDir dir;
  const std::string gate = dir / "gate";
  Superd d(dir, "[service.n]\ncommand = " + cmd({"--wait-file", gate, "--notify", "READY=1", "--pause"}) +
                    "\nuser = " + q(www.name()) + "\nready = \"notify\"\n");
  ASSERT_TRUE(d.start());
  ASSERT_TRUE(d.wait_state("n", "starting"));
  const std::string path = dir / "run/notify/n";
  struct stat st {};
  ASSERT_EQ(::lstat(path.c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0660u);
  EXPECT_EQ(st.st_uid, 0u);
  EXPECT_EQ(st.st_gid, www.gid());
  auto send_ready = [&] {
    int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
    const ssize_t n = ::sendto(fd, "READY=1", 7, 0, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    const int error = errno;
    ::close(fd);
    return n == 7 ? 0 : error;
  };
  EXPECT_EQ(as_user(outsider, [&] { _exit(send_ready()); }, 5s), EACCES) << "another user cannot send";
  for (int i = 0; i < 20; ++i) ASSERT_EQ(send_ready(), 0);  // root may: foreign, ignored
  write_file(gate, "");  // the service's own READY=1 comes after the 20 datagrams
  ASSERT_TRUE(d.wait_state("n", "running"));
  const std::string log = d.daemon_log();
  size_t warnings = 0;
  for (size_t at = log.find("notify message from pid"); at != std::string::npos;
       at = log.find("notify message from pid", at + 1))
    ++warnings;
  EXPECT_EQ(warnings, 1u) << log;
}

// ---- bounds ------------------------------------------------------------------------

// 10 MB without a newline: split at the cap and rotated like any output.
TEST(Attack, ATenMegabyteLineStaysWithinTheRotationBound) {
  TempDir dir;
  const std::string log = dir / "log/app.log";
  constexpr uint64_t kMax = 1 << 20, kCap = 64 << 10;
  constexpr int kBackups = 2;
  Superd d(dir,
           "[service.app]\ncommand = [\"/bin/sh\", \"-c\", \"head -c 7500000 /dev/zero | base64 -w 0; "
           "echo; echo END-OF-LINE; exec sleep 1000\"]\nlog_max_bytes = \"1MiB\"\nlog_backups = " +
               std::to_string(kBackups) + "\n");
  std::string why;
  ASSERT_TRUE(d.start({}, &why)) << why;
  ASSERT_TRUE(wait_until([&] { return read_file(log).find("END-OF-LINE") != std::string::npos; }, 30s))
      << "sizes: " << fs::file_size(log);
  uint64_t total = 0;
  for (const std::string& path : {log, log + ".1", log + ".2"}) {
    ASSERT_TRUE(file_exists(path)) << path;
    EXPECT_LE(fs::file_size(path), kMax + kCap) << path;
    total += fs::file_size(path);
  }
  EXPECT_FALSE(file_exists(log + ".3"));
  EXPECT_LE(total, kMax * (kBackups + 1) + kCap);
  // The line is cut where a file ends: each rotated file ends with a newline superd put
  // in (a piece near a cut is at most the cap; bytes spliced far from a cut are not
  // looked at, so a piece there may be longer, never longer than a file).
  for (const std::string& path : {log + ".1", log + ".2"}) {
    const std::string text = read_file(path);
    ASSERT_FALSE(text.empty()) << path;
    EXPECT_EQ(text.back(), '\n') << path << " ends mid-line";
    size_t longest = 0, run = 0;
    for (char c : text) {
      run = c == '\n' ? 0 : run + 1;
      longest = std::max(longest, run);
    }
    EXPECT_LE(longest, kMax) << path;
    EXPECT_GT(longest, kCap / 2) << path << ": the line is there, split";
  }
}

// `log -n 100000` on a 1 GiB log: one reply within the protocol's bound, the newest lines,
// and `status` from another client answered meanwhile.
TEST(Attack, LogReplyOfAHugeFileIsBoundedAndOffTheLoop) {
  TempDir dir;
  ::mkdir((dir / "log").c_str(), 0750);
  const std::string log = dir / "log/app.log";
  {
    // Sparse: 1 GiB of holes, then 200,000 lines of 100 bytes.
    UniqueFd fd(::open(log.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0640));
    ASSERT_TRUE(fd);
    ASSERT_EQ(::ftruncate(fd.get(), 1ll << 30), 0);
    std::string block;
    for (int i = 0; i < 200000; ++i) {
      char line[101];
      std::snprintf(line, sizeof line, "%-99d\n", i);
      block.append(line, 100);
    }
    ASSERT_EQ(::pwrite(fd.get(), block.data(), block.size(), 1ll << 30), static_cast<ssize_t>(block.size()));
  }
  Superd d(dir, "[service.app]\ncommand = " + cmd({"--pause"}) + "\n");
  std::string why;
  ASSERT_TRUE(d.start({}, &why)) << why;
  ASSERT_TRUE(d.wait_state("app", "running"));

  ipc::Client reader;
  reader.set_timeout(within(10s));
  ASSERT_EQ(reader.connect(d.socket()), std::nullopt);
  ipc::Client other;
  other.set_timeout(within(50ms));
  ASSERT_EQ(other.connect(d.socket()), std::nullopt);
  for (int round = 0; round < 3; ++round) {
    auto reply = reader.request("log", {{"name", "app"}, {"lines", 100000}});
    ASSERT_TRUE(std::holds_alternative<json>(reply)) << std::get<std::string>(reply);
    const json& r = std::get<json>(reply);
    ASSERT_EQ(r.value("ok", false), true) << r.dump().substr(0, 500);
    EXPECT_LE(r.dump().size(), size_t{1} << 20);
    EXPECT_EQ(r["result"].value("truncated", false), true);
    const json& lines = r["result"]["lines"];
    ASSERT_GT(lines.size(), 1000u);
    EXPECT_LT(lines.size(), 100000u);
    EXPECT_EQ(lines.back().get<std::string>().substr(0, 6), "199999") << "the newest lines";
    auto status = other.request("status");
    ASSERT_TRUE(std::holds_alternative<json>(status))
        << "status from another client within 50 ms: " << std::get<std::string>(status);
  }
}

// ---- crash recovery ------------------------------------------------------------------

// superd and the main process die together (kill -9); the worker the main process forked
// keeps running in its session. The next superd finds it by session and stops it.
TEST(Attack, LeftoversWhoseMainProcessDiedAreStoppedToo) {
  TempDir dir;
  const std::string pidfile = dir / "worker.pid";
  Superd d(dir, "[service.app]\ncommand = " + cmd({"--child", "--pidfile", pidfile, "--pause", "--", "--pause"}) +
                    "\nstart_seconds = \"50ms\"\nstop_timeout = \"2s\"\n");
  ASSERT_TRUE(d.start());
  ASSERT_TRUE(d.wait_state("app", "running"));
  const ProcKey main_key = proc_key(d.status("app")["pid"].get<pid_t>());
  ASSERT_TRUE(wait_until([&] { return std::atoi(read_file(pidfile).c_str()) > 0; }));
  const ProcKey worker = proc_key(std::atoi(read_file(pidfile).c_str()));
  ASSERT_TRUE(process_alive(worker));
  KillAtExit guard;
  guard.add(worker);
  guard.add(main_key);
  d.kill_hard();
  ASSERT_EQ(::kill(main_key.pid, SIGKILL), 0);
  ASSERT_TRUE(wait_until([&] { return !process_alive(main_key); }));
  ASSERT_TRUE(process_alive(worker)) << "the orphaned worker is left";

  ASSERT_TRUE(d.start()) << d.daemon_log();
  EXPECT_TRUE(wait_until([&] { return !process_alive(worker); }, 10s)) << d.daemon_log();
  // By session (services run in process groups here) or by cgroup where superd has one.
  const std::string log = d.daemon_log();
  EXPECT_TRUE(log.find("app: stopped the leftover session " + std::to_string(main_key.pid) +
                       " of a previous superd (its main process had already ended)") != std::string::npos ||
              (log.find("cgroups: not used") == std::string::npos && log.find("leftover") != std::string::npos))
      << log;
  EXPECT_TRUE(d.wait_state("app", "running"));
}

// ---- what superd sets itself ---------------------------------------------------------

TEST(Attack, ReservedVariablesCannotComeFromTheConfig) {
  TempDir dir;
  Superd d(dir, "[service.app]\ncommand = " + cmd({"--pause"}) +
                    "\nenvironment = { LISTEN_PID = \"1\", NOTIFY_SOCKET = \"/tmp/x\" }\n");
  auto r = check_config(d);
  EXPECT_EQ(r.exit_code, 1) << show(r);
  EXPECT_NE(r.err.find("'LISTEN_PID' is set by superd itself"), std::string::npos) << show(r);
  EXPECT_NE(r.err.find("'NOTIFY_SOCKET' is set by superd itself"), std::string::npos) << show(r);
}

}  // namespace
}  // namespace superd::test
