// The sandbox, from inside real processes: each service is testprog, which tries things
// (a write, a socket, a syscall) and prints what happened ("probe write /usr/x: EROFS");
// the test reads the service's log. A control service without the directive shows that
// the same probe succeeds there, so a refusal is the sandbox's doing. Needs root (mount
// namespaces, other users); every user, file and process made here is removed after.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <sstream>

#include "tests/integration/harness.h"

namespace superd::test {
namespace {

namespace fs = std::filesystem;

#define REQUIRE_ROOT() \
  if (::geteuid() != 0) GTEST_SKIP() << "needs root: mount namespaces and service users"

// [service.NAME] running testprog with `args` then "done", and its sandbox table.
std::string service(const std::string& name, std::vector<std::string> args, const std::string& sandbox,
                    const std::string& extra = "") {
  args.insert(args.end(), {"--print", "done", "--pause"});
  std::string out = "[service." + name + "]\ncommand = " + cmd(args) + "\nstart_seconds = \"50ms\"\n" +
                    "stop_timeout = \"2s\"\n" + extra + "\n";
  if (!sandbox.empty()) out += "[service." + name + ".sandbox]\n" + sandbox + "\n";
  return out;
}

std::string log_of(const Superd& d, const std::string& name) { return read_file(d.log_dir() + "/" + name + ".log"); }

bool wait_done(const Superd& d, const std::string& name) {
  return wait_until([&] { return log_of(d, name).find("\ndone\n") != std::string::npos ||
                                 log_of(d, name).rfind("done\n", 0) == 0; },
                    20s);
}

// What "probe WHAT: RESULT" said: "ok", an errno name, or "" when the line is missing.
std::string probe(const Superd& d, const std::string& name, const std::string& what) {
  std::istringstream in(log_of(d, name));
  const std::string prefix = "probe " + what + ": ";
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(prefix, 0) == 0) return line.substr(prefix.size());
  }
  return "";
}

// The value of a /proc/self/status line the service printed ("status CapBnd: 0000...").
std::string status_field(const Superd& d, const std::string& name, const std::string& field) {
  std::istringstream in(log_of(d, name));
  const std::string prefix = "status " + field + ": ";
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(prefix, 0) == 0) return line.substr(prefix.size());
  }
  return "";
}

// The names "list DIR:" printed, the n-th time (0: first).
std::vector<std::string> listing(const Superd& d, const std::string& name, const std::string& dir, int n = 0) {
  std::istringstream in(log_of(d, name));
  const std::string prefix = "list " + dir + ":";
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(prefix, 0) != 0 || n-- > 0) continue;
    std::istringstream words(line.substr(prefix.size()));
    std::vector<std::string> out;
    for (std::string w; words >> w;) out.push_back(w);
    return out;
  }
  return {"<no listing>"};
}

bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

std::string user_line(const TestUser& user) { return "user = " + q(user.name()) + "\n"; }

TEST(Sandbox, ProtectSystemStrictLeavesOnlyTheListedPathsWritable) {
  REQUIRE_ROOT();
  TempDir dir;
  const std::string rw = dir / "rw";
  fs::create_directories(rw);
  const std::string in_usr = "/usr/superd-sandbox-probe-" + std::to_string(::getpid());
  const std::string in_etc = "/etc/superd-sandbox-probe-" + std::to_string(::getpid());
  const std::vector<std::string> probes = {"--try-write", in_usr, "--try-write", in_etc, "--try-write",
                                           rw + "/file", "--try-write", dir / "elsewhere",
                                           "--try-write", "/dev/null"};
  Superd d(dir, service("strict", probes, "protect_system = \"strict\"\nread_write_paths = [" + q(rw) + "]\n") +
                    service("plain", {"--try-write", dir / "plain-elsewhere"}, ""));
  ASSERT_TRUE(d.start());
  ASSERT_TRUE(wait_done(d, "strict")) << d.daemon_log() << log_of(d, "strict");
  ASSERT_TRUE(wait_done(d, "plain"));
  EXPECT_EQ(probe(d, "strict", "write " + in_usr), "EROFS");
  EXPECT_EQ(probe(d, "strict", "write " + in_etc), "EROFS");
  EXPECT_EQ(probe(d, "strict", "write " + rw + "/file"), "ok");
  EXPECT_EQ(probe(d, "strict", "write " + (dir / "elsewhere")), "EROFS");
  EXPECT_EQ(probe(d, "strict", "write /dev/null"), "ok");  // the API file systems stay writable
  EXPECT_EQ(probe(d, "plain", "write " + (dir / "plain-elsewhere")), "ok");
  EXPECT_EQ(read_file(rw + "/file"), "x\n");
  EXPECT_FALSE(file_exists(in_usr));
  EXPECT_FALSE(file_exists(in_etc));
  ::unlink(in_usr.c_str());
  ::unlink(in_etc.c_str());
}

TEST(Sandbox, ProtectHomeHidesHomeAndRoot) {
  REQUIRE_ROOT();
  TempDir dir;
  TestUser user("sdt-home" + std::to_string(::getpid() % 100000));
  const std::string in_root = "/root/superd-sandbox-probe-" + std::to_string(::getpid());
  write_file(in_root, "secret\n");
  Superd d(dir, service("user", {"--try-read", "/home", "--try-read", "/root"}, "protect_home = true\n",
                        user_line(user)) +
                    service("userplain", {"--try-read", "/home"}, "", user_line(user)) +
                    service("root", {"--try-read", in_root, "--list", "/home"}, "protect_home = true\n") +
                    service("rootplain", {"--try-read", in_root}, ""));
  ASSERT_TRUE(d.start());
  for (const char* s : {"user", "userplain", "root", "rootplain"}) ASSERT_TRUE(wait_done(d, s)) << s << d.daemon_log();
  EXPECT_EQ(probe(d, "user", "read /home"), "EACCES");
  EXPECT_EQ(probe(d, "user", "read /root"), "EACCES");
  EXPECT_EQ(probe(d, "userplain", "read /home"), "ok");
  // Root reads past permissions: for it the directories are empty.
  EXPECT_EQ(probe(d, "root", "read " + in_root), "ENOENT");
  EXPECT_EQ(listing(d, "root", "/home"), std::vector<std::string>{});
  EXPECT_EQ(probe(d, "rootplain", "read " + in_root), "ok");
  ::unlink(in_root.c_str());
}

TEST(Sandbox, ReadOnlyAndInaccessiblePaths) {
  REQUIRE_ROOT();
  TempDir dir;
  TestUser user("sdt-ro" + std::to_string(::getpid() % 100000));
  const std::string ro = dir / "ro", hidden = dir / "hidden", secret = dir / "secret.txt";
  fs::create_directories(ro);
  fs::create_directories(hidden);
  write_file(hidden + "/inside", "x\n");
  write_file(secret, "secret\n");
  ::chmod(secret.c_str(), 0644);
  ::chown(ro.c_str(), user.uid(), user.gid());
  const std::string sandbox = "read_only_paths = [" + q(ro) + "]\ninaccessible_paths = [" + q(hidden) + ", " +
                              q(secret) + "]\n";
  const std::vector<std::string> probes = {"--try-write", ro + "/file", "--try-read", secret, "--try-read",
                                           hidden, "--list", hidden};
  Superd d(dir, service("user", probes, sandbox, user_line(user)) + service("root", probes, sandbox) +
                    service("plain", probes, "", user_line(user)));
  ASSERT_TRUE(d.start());
  for (const char* s : {"user", "root", "plain"}) ASSERT_TRUE(wait_done(d, s)) << s << d.daemon_log();
  EXPECT_EQ(probe(d, "user", "write " + ro + "/file"), "EROFS");
  EXPECT_EQ(probe(d, "user", "read " + secret), "EACCES");
  EXPECT_EQ(probe(d, "user", "read " + hidden), "EACCES");
  EXPECT_EQ(probe(d, "root", "write " + ro + "/file"), "EROFS");
  EXPECT_EQ(listing(d, "root", hidden), std::vector<std::string>{});  // empty, even for root
  EXPECT_EQ(probe(d, "plain", "write " + ro + "/file"), "ok");
  EXPECT_EQ(probe(d, "plain", "read " + secret), "ok");
  EXPECT_EQ(listing(d, "plain", hidden), std::vector<std::string>{"inside"});
}

// The mount namespace a process is in ("mnt:[4026532]"), and whether any process is.
std::string mount_ns(pid_t pid) {
  char buf[64] = "";
  ssize_t n = ::readlink(("/proc/" + std::to_string(pid) + "/ns/mnt").c_str(), buf, sizeof buf - 1);
  return n > 0 ? std::string(buf, n) : "";
}

bool any_process_in(const std::string& ns) {
  for (const auto& entry : fs::directory_iterator("/proc")) {
    const std::string name = entry.path().filename();
    if (!std::all_of(name.begin(), name.end(), ::isdigit)) continue;
    if (mount_ns(std::stoi(name)) == ns) return true;
  }
  return false;
}

TEST(Sandbox, PrivateTmpIsTheServicesOwnAndGoneWhenItStops) {
  REQUIRE_ROOT();
  if (testprog().starts_with("/tmp/") || testprog().starts_with("/var/tmp/")) {
    GTEST_SKIP() << "the build is under /tmp (" << testprog()
                 << "): a fresh /tmp would hide the test program itself; build elsewhere";
  }
  TempDir dir;  // under /tmp: the notify socket too, which must stay reachable
  const std::string host_file = "/tmp/superd-sandbox-host-" + std::to_string(::getpid());
  write_file(host_file, "host\n");
  const std::string marker = "/tmp/superd-sandbox-marker-" + std::to_string(::getpid());
  Superd d(dir, service("app",
                        {"--list", "/tmp", "--try-read", host_file, "--try-write", marker, "--child", "--list",
                         "/tmp", "--pause", "--", "--notify", "READY=1"},
                        "private_tmp = true\n", "ready = \"notify\"\n"));
  ASSERT_TRUE(d.start());
  ASSERT_TRUE(d.wait_state("app", "running")) << d.daemon_log() << log_of(d, "app");  // READY=1 got through
  ASSERT_TRUE(wait_done(d, "app")) << log_of(d, "app") << d.daemon_log();
  EXPECT_EQ(probe(d, "app", "read " + host_file), "ENOENT");
  EXPECT_EQ(probe(d, "app", "write " + marker), "ok");
  EXPECT_FALSE(file_exists(marker)) << "the service's /tmp is not the host's";
  EXPECT_FALSE(contains(listing(d, "app", "/tmp"), fs::path(host_file).filename()));
  // Its child sees the same /tmp (the second listing, made after the write).
  ASSERT_TRUE(wait_until([&] { return contains(listing(d, "app", "/tmp", 1), fs::path(marker).filename()); }))
      << log_of(d, "app");
  const pid_t pid = d.status("app")["pid"];
  EXPECT_TRUE(file_exists("/proc/" + std::to_string(pid) + "/root" + marker));
  const std::string ns = mount_ns(pid);
  ASSERT_FALSE(ns.empty());
  EXPECT_NE(ns, mount_ns(::getpid()));

  ASSERT_EQ(d.ctl({"stop", "app"}).exit_code, 0);
  EXPECT_FALSE(any_process_in(ns)) << "the namespace, and with it the tmpfs, is gone";
  ASSERT_EQ(d.ctl({"start", "app"}).exit_code, 0);
  ASSERT_TRUE(wait_until([&] { return listing(d, "app", "/tmp", 2) != std::vector<std::string>{"<no listing>"}; }));
  EXPECT_FALSE(contains(listing(d, "app", "/tmp", 2), fs::path(marker).filename()))
      << "a new start gets a fresh /tmp";
  ::unlink(host_file.c_str());
}

TEST(Sandbox, NoNewPrivilegesAndTheCapabilitySetsAsListed) {
  REQUIRE_ROOT();
  TempDir dir;
  TestUser user("sdt-cap" + std::to_string(::getpid() % 100000));
  Superd d(dir, service("none", {"--status"}, "no_new_privileges = true\ncapabilities = []\n") +
                    service("two", {"--status"}, "capabilities = [\"CAP_CHOWN\", \"CAP_NET_BIND_SERVICE\"]\n") +
                    service("ambient", {"--status"},
                            "capabilities = [\"CAP_NET_BIND_SERVICE\"]\nambient_capabilities = [\"CAP_NET_BIND_SERVICE\"]\n",
                            user_line(user)) +
                    service("plain", {"--status"}, ""));
  ASSERT_TRUE(d.start());
  for (const char* s : {"none", "two", "ambient", "plain"}) ASSERT_TRUE(wait_done(d, s)) << s << d.daemon_log();
  EXPECT_EQ(status_field(d, "none", "NoNewPrivs"), "1");
  EXPECT_EQ(status_field(d, "none", "CapBnd"), "0000000000000000");
  EXPECT_EQ(status_field(d, "none", "CapEff"), "0000000000000000");  // root, with nothing to keep
  EXPECT_EQ(status_field(d, "two", "CapBnd"), "0000000000000401");
  EXPECT_EQ(status_field(d, "two", "CapEff"), "0000000000000401");
  EXPECT_EQ(status_field(d, "two", "NoNewPrivs"), "0");
  EXPECT_EQ(status_field(d, "ambient", "CapAmb"), "0000000000000400");
  EXPECT_EQ(status_field(d, "ambient", "CapEff"), "0000000000000400");
  EXPECT_EQ(status_field(d, "ambient", "CapBnd"), "0000000000000400");
  EXPECT_EQ(status_field(d, "ambient", "CapAmb").size(), 16u);
  EXPECT_EQ(status_field(d, "plain", "NoNewPrivs"), "0");
  EXPECT_EQ(status_field(d, "plain", "CapAmb"), "0000000000000000");
}

// A privileged port no one listens on (80 if free).
int free_privileged_port() {
  for (int port : {80, 81, 88, 180, 280, 443, 591, 880, 888, 980}) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    ::close(fd);
    if (ok) return port;
  }
  return -1;
}

TEST(Sandbox, AmbientNetBindServiceBindsAPrivilegedPortAndNothingElseDoes) {
  REQUIRE_ROOT();
  const int port = free_privileged_port();
  if (port < 0) GTEST_SKIP() << "no free privileged port on 127.0.0.1";
  const int unprivileged_start = std::stoi(read_file("/proc/sys/net/ipv4/ip_unprivileged_port_start") + "0") / 10;
  if (unprivileged_start <= port) GTEST_SKIP() << "ip_unprivileged_port_start lets anyone bind " << port;
  TempDir dir;
  TestUser www("sdt-www" + std::to_string(::getpid() % 100000));
  const std::string target = "127.0.0.1:" + std::to_string(port);
  Superd d(dir, service("www", {"--try-bind", target, "--status"},
                        "capabilities = [\"CAP_NET_BIND_SERVICE\"]\n"
                        "ambient_capabilities = [\"CAP_NET_BIND_SERVICE\"]\nno_new_privileges = true\n",
                        user_line(www)) +
                    service("plain", {"--sleep", "300", "--try-bind", target}, "", user_line(www)));
  ASSERT_TRUE(d.start());
  ASSERT_TRUE(wait_done(d, "www")) << d.daemon_log();
  ASSERT_TRUE(wait_done(d, "plain")) << d.daemon_log();
  EXPECT_EQ(probe(d, "www", "bind " + target), "ok");
  EXPECT_EQ(status_field(d, "www", "NoNewPrivs"), "1");  // ambient capabilities survive no_new_privs
  EXPECT_EQ(probe(d, "plain", "bind " + target), "EACCES");
}

TEST(Sandbox, RestrictAddressFamiliesRefusesNewSocketsButTheListenSocketAccepts) {
  REQUIRE_ROOT();
  TempDir dir;
  const int port = free_port();
  Superd d(dir, service("app", {"--try-socket", "inet", "--try-socket", "inet6", "--try-socket", "unix",
                                "--print", "done", "--accept", "1"},
                        "restrict_address_families = [\"AF_UNIX\"]\n",
                        "listen = [\"tcp:127.0.0.1:" + std::to_string(port) + "\"]\n") +
                    service("deny", {"--try-socket", "packet", "--try-socket", "inet"},
                            "restrict_address_families = [\"~AF_PACKET\"]\n"));
  ASSERT_TRUE(d.start());
  ASSERT_TRUE(wait_done(d, "app")) << d.daemon_log() << log_of(d, "app");
  EXPECT_EQ(probe(d, "app", "socket inet"), "EAFNOSUPPORT");
  EXPECT_EQ(probe(d, "app", "socket inet6"), "EAFNOSUPPORT");
  EXPECT_EQ(probe(d, "app", "socket unix"), "ok");

  UniqueFd fd = connect_loopback(port);
  ASSERT_TRUE(fd) << strerror(errno);
  char buf[8] = {};
  EXPECT_EQ(::read(fd.get(), buf, sizeof buf - 1), 3);
  EXPECT_STREQ(buf, "hi\n");
  EXPECT_TRUE(wait_until([&] { return probe(d, "app", "accept fd3") == "ok"; }));

  ASSERT_TRUE(wait_done(d, "deny"));
  EXPECT_EQ(probe(d, "deny", "socket packet"), "EAFNOSUPPORT");
  EXPECT_EQ(probe(d, "deny", "socket inet"), "ok");
}

TEST(Sandbox, SystemCallFilterRefusesWithEpermOrTheGivenErrno) {
  REQUIRE_ROOT();
  TempDir dir;
  const std::vector<std::string> calls = {"--try-syscall", "sync", "--try-syscall", "chroot", "--try-syscall",
                                          "setuid", "--try-write", dir / "written"};
  Superd d(dir, service("deny", calls, "system_call_filter = [\"~sync\", \"~chroot:EACCES\"]\n") +
                    service("privileged", calls, "system_call_filter = [\"~@privileged\"]\n") +
                    service("allow", calls, "system_call_filter = [\"@system-service\"]\n") +
                    service("plain", calls, ""));
  ASSERT_TRUE(d.start());
  for (const char* s : {"deny", "privileged", "allow", "plain"}) ASSERT_TRUE(wait_done(d, s)) << s << d.daemon_log();
  EXPECT_EQ(probe(d, "deny", "syscall sync"), "EPERM");
  EXPECT_EQ(probe(d, "deny", "syscall chroot"), "EACCES");
  EXPECT_EQ(probe(d, "deny", "syscall setuid"), "ok");
  EXPECT_EQ(probe(d, "privileged", "syscall chroot"), "EPERM");
  EXPECT_EQ(probe(d, "privileged", "syscall setuid"), "EPERM");
  EXPECT_EQ(probe(d, "privileged", "syscall sync"), "ok");
  // An allow list: what @system-service has works (the program ran, wrote, synced), the
  // rest is refused.
  EXPECT_EQ(probe(d, "allow", "syscall sync"), "ok");
  EXPECT_EQ(probe(d, "allow", "syscall chroot"), "EPERM");
  EXPECT_EQ(probe(d, "allow", "write " + (dir / "written")), "ok");
  EXPECT_EQ(probe(d, "plain", "syscall chroot"), "ok");
  EXPECT_EQ(probe(d, "plain", "syscall setuid"), "ok");
}

TEST(Sandbox, MemoryDenyWriteExecuteRefusesAWritableExecutableMapping) {
  REQUIRE_ROOT();
  TempDir dir;
  Superd d(dir, service("mdwe", {"--try-mmap-wx"}, "memory_deny_write_execute = true\n") +
                    service("plain", {"--try-mmap-wx"}, ""));
  ASSERT_TRUE(d.start());
  ASSERT_TRUE(wait_done(d, "mdwe")) << d.daemon_log();
  ASSERT_TRUE(wait_done(d, "plain"));
  EXPECT_EQ(probe(d, "mdwe", "mmap wx"), "EPERM");
  EXPECT_EQ(probe(d, "plain", "mmap wx"), "ok");
}

std::string uts_ns(pid_t pid) {
  char buf[64] = "";
  ssize_t n = ::readlink(("/proc/" + std::to_string(pid) + "/ns/uts").c_str(), buf, sizeof buf - 1);
  return n > 0 ? std::string(buf, n) : "";
}

TEST(Sandbox, TheOtherProtectAndRestrictDirectivesHoldFromInside) {
  REQUIRE_ROOT();
  TempDir dir;
  const std::vector<std::string> probes = {
      "--try-syscall", "sethostname", "--try-syscall", "unshare-net", "--try-syscall", "personality",
      "--try-syscall", "sched-fifo",  "--try-syscall", "chmod-suid",  "--try-syscall", "adjtimex",
      "--try-syscall", "syslog",      "--try-syscall", "init_module", "--try-write", "/proc/sys/kernel/domainname",
      "--try-write", "/sys/fs/cgroup/superd-probe", "--list", "/dev", "--list", "/usr/lib/modules", "--status"};
  Superd d(dir, service("locked", probes,
                        "protect_hostname = true\nrestrict_namespaces = true\nlock_personality = true\n"
                        "restrict_realtime = true\nrestrict_suid_sgid = true\nprotect_clock = true\n"
                        "protect_kernel_logs = true\nprotect_kernel_modules = true\n"
                        "protect_kernel_tunables = true\nprotect_control_groups = true\nprivate_devices = true\n") +
                    service("plain", {"--try-syscall", "unshare-net", "--try-syscall", "personality", "--try-syscall",
                                      "chmod-suid", "--try-syscall", "adjtimex", "--list", "/dev"},
                            ""));
  ASSERT_TRUE(d.start());
  ASSERT_TRUE(wait_done(d, "locked")) << d.daemon_log() << log_of(d, "locked");
  ASSERT_TRUE(wait_done(d, "plain"));
  for (const char* call : {"sethostname", "unshare-net", "personality", "sched-fifo", "chmod-suid", "adjtimex",
                           "syslog", "init_module"}) {
    EXPECT_EQ(probe(d, "locked", std::string("syscall ") + call), "EPERM") << call;
  }
  for (const char* call : {"unshare-net", "personality", "chmod-suid", "adjtimex"}) {
    EXPECT_EQ(probe(d, "plain", std::string("syscall ") + call), "ok") << call;
  }
  EXPECT_EQ(probe(d, "locked", "write /proc/sys/kernel/domainname"), "EROFS");     // protect_kernel_tunables
  EXPECT_EQ(probe(d, "locked", "write /sys/fs/cgroup/superd-probe"), "EROFS");     // protect_control_groups
  EXPECT_EQ(status_field(d, "locked", "NoNewPrivs"), "0");  // root keeps CAP_SYS_ADMIN: not implied
  EXPECT_NE(uts_ns(d.status("locked")["pid"]), uts_ns(::getpid()));  // protect_hostname
  // private_devices: the API devices and nothing physical.
  auto dev = listing(d, "locked", "/dev");
  for (const char* node : {"null", "zero", "full", "random", "urandom", "tty", "pts", "ptmx", "shm"}) {
    EXPECT_TRUE(contains(dev, node)) << node;
  }
  EXPECT_FALSE(contains(dev, "kmsg"));
  EXPECT_LT(dev.size(), listing(d, "plain", "/dev").size());
  for (const auto& name : listing(d, "plain", "/dev")) {
    if (name.rfind("vd", 0) == 0 || name.rfind("sd", 0) == 0 || name == "mem") {
      EXPECT_FALSE(contains(dev, name)) << name;
    }
  }
  // protect_kernel_modules: the modules directory is empty inside.
  EXPECT_TRUE(listing(d, "locked", "/usr/lib/modules").empty() ||
              listing(d, "locked", "/usr/lib/modules") == std::vector<std::string>{"<no listing>"});
}

TEST(Sandbox, AFailingStepIsAFatalExecFailureThatNamesThePath) {
  REQUIRE_ROOT();
  TempDir dir;
  Superd d(dir, service("broken", {}, "read_write_paths = [\"/nonexistent-superd-sandbox\"]\n") +
                    service("fine", {}, "read_write_paths = [\"-/nonexistent-superd-sandbox\"]\n"));
  ASSERT_TRUE(d.start());
  ASSERT_TRUE(d.wait_state("broken", "fatal")) << d.daemon_log();
  EXPECT_EQ(d.status("broken")["reason"], "sandbox: mount /nonexistent-superd-sandbox: No such file or directory");
  ASSERT_TRUE(d.wait_state("fine", "running")) << d.daemon_log();
  EXPECT_NE(d.ctl({"status"}).out.find("sandbox: mount /nonexistent-superd-sandbox"), std::string::npos);
}

}  // namespace
}  // namespace superd::test
