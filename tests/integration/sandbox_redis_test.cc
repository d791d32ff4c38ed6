// Debian's own redis-server.service under superd: imported, its sandbox applied, redis
// running as user redis, answering PING, and every directive visible from inside its
// process (/proc/PID/status, /proc/PID/mountinfo, its namespaces).
//
// The sandbox table is the one `superd import` writes: no directive may be reported as
// not sandboxed, and --check must accept the whole import.
#include <pwd.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <sstream>
#include <toml++/toml.h>

#include "tests/integration/harness.h"

namespace superd::test {
namespace {

namespace fs = std::filesystem;

constexpr const char* kUnit = "/lib/systemd/system/redis-server.service";

std::map<std::string, std::string> status_of(pid_t pid) {
  std::map<std::string, std::string> out;
  std::istringstream in(read_file("/proc/" + std::to_string(pid) + "/status"));
  for (std::string line; std::getline(in, line);) {
    size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    size_t value = line.find_first_not_of(" \t", colon + 1);
    out[line.substr(0, colon)] = value == std::string::npos ? "" : line.substr(value);
  }
  return out;
}

// Mount point -> "OPTIONS FSTYPE" of the mount on top there, as the process sees it.
std::map<std::string, std::string> mounts_of(pid_t pid) {
  std::map<std::string, std::string> out;
  std::istringstream in(read_file("/proc/" + std::to_string(pid) + "/mountinfo"));
  for (std::string line; std::getline(in, line);) {
    std::istringstream f(line);
    std::string id, parent, devno, root, point, options, field;
    f >> id >> parent >> devno >> root >> point >> options;
    while (f >> field && field != "-") {
    }
    std::string fstype;
    f >> fstype;
    out[point] = options + " " + fstype;  // later lines are mounted on top of earlier ones
  }
  return out;
}

bool has_option(const std::string& options, const std::string& option) {
  std::string list = options.substr(0, options.find(' '));
  std::istringstream in(list);
  for (std::string o; std::getline(in, o, ',');) {
    if (o == option) return true;
  }
  return false;
}

std::string ns_of(pid_t pid, const char* kind) {
  char buf[64] = "";
  ssize_t n = ::readlink(("/proc/" + std::to_string(pid) + "/ns/" + kind).c_str(), buf, sizeof buf - 1);
  return n > 0 ? std::string(buf, n) : "";
}

bool has_sys_resource() {
  std::string eff = status_of(::getpid())["CapEff"];
  return !eff.empty() && (std::stoull(eff, nullptr, 16) >> 24) & 1;  // CAP_SYS_RESOURCE
}

TEST(SandboxRedis, DebiansHardenedUnitRunsAnswersAndHoldsFromInside) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root";
  for (const char* path : {kUnit, "/usr/bin/redis-server", "/usr/bin/redis-cli"}) {
    if (!file_exists(path)) GTEST_SKIP() << path << " is not installed";
  }
  passwd* redis = ::getpwnam("redis");
  if (!redis) GTEST_SKIP() << "no redis user";

  // The unit's RuntimeDirectory=redis (mode 2755), which superd leaves to deployment.
  const bool made_run_dir = !fs::exists("/run/redis");
  fs::create_directories("/run/redis");
  ::chown("/run/redis", redis->pw_uid, redis->pw_gid);
  ::chmod("/run/redis", 02755);
  const bool had_dump = fs::exists("/var/lib/redis/dump.rdb");

  auto imported = run({superd_bin(), "import", kUnit});
  ASSERT_NE(imported.out.find("[service.redis-server]"), std::string::npos) << imported.out << imported.err;
  toml::table doc = toml::parse(imported.out);
  toml::table& service = *doc["service"]["redis-server"].as_table();
  ASSERT_TRUE(service.contains("sandbox")) << imported.out;
  EXPECT_EQ(imported.err.find("does not sandbox"), std::string::npos) << imported.err;
  EXPECT_EQ(imported.out.find("does not sandbox"), std::string::npos) << imported.out;
  // Every hardening directive of the unit that the table has a key for is in it.
  const toml::table& sandbox = *service["sandbox"].as_table();
  for (const char* key : {"no_new_privileges", "private_tmp", "private_devices", "protect_system",
                          "protect_home", "read_write_paths", "capabilities", "restrict_address_families",
                          "system_call_filter", "memory_deny_write_execute", "protect_kernel_tunables",
                          "protect_kernel_modules", "protect_kernel_logs", "protect_control_groups",
                          "protect_clock", "protect_hostname", "restrict_namespaces", "restrict_realtime",
                          "restrict_suid_sgid", "lock_personality"}) {
    EXPECT_TRUE(sandbox.contains(key)) << key << "\n" << imported.out;
  }
  // Its own port, so a redis already on 6379 does not matter; everything else as Debian
  // ships it (/etc/redis/redis.conf: pid file in /run/redis, log in /var/log/redis, data
  // in /var/lib/redis).
  const int port = free_port();
  service["command"].as_array()->push_back("--port");
  service["command"].as_array()->push_back(std::to_string(port));
  service.insert_or_assign("stop_timeout", "10s");
  // LimitNOFILE=65535 needs CAP_SYS_RESOURCE above the hard limit, which some test
  // machines (containers) do not give even to root: there, the limit the machine allows.
  rlimit nofile{};
  ::getrlimit(RLIMIT_NOFILE, &nofile);
  if (nofile.rlim_max < 65535 && !has_sys_resource()) {
    service.insert_or_assign("limits", toml::table{{"nofile", static_cast<int64_t>(nofile.rlim_max)}});
  }
  std::ostringstream config;
  config << doc;

  TempDir dir;  // under /tmp, where private_tmp hides everything: the notify socket too
  Superd d(dir, config.str());
  auto check = run({superd_bin(), "--check", "-c", d.config_path()});
  ASSERT_EQ(check.exit_code, 0) << check.out << check.err << "\n" << read_file(d.config_path());

  ASSERT_TRUE(d.start());
  // ready = "notify": redis's READY=1 reached superd through the private /tmp.
  ASSERT_TRUE(d.wait_state("redis-server", "running", 20s))
      << d.daemon_log() << read_file(d.log_dir() + "/redis-server.log") << d.status("redis-server").dump();
  auto pong = run({"/usr/bin/redis-cli", "-p", std::to_string(port), "ping"});
  EXPECT_EQ(pong.out, "PONG\n") << pong.err;
  // A write from inside redis to its read-write path.
  auto save = run({"/usr/bin/redis-cli", "-p", std::to_string(port), "save"});
  EXPECT_EQ(save.out, "OK\n") << save.err;

  const pid_t pid = d.status("redis-server")["pid"];
  auto status = status_of(pid);
  EXPECT_EQ(status["Uid"].substr(0, status["Uid"].find('\t')), std::to_string(redis->pw_uid));
  EXPECT_EQ(status["NoNewPrivs"], "1");
  EXPECT_EQ(status["CapBnd"], "0000000000000000");
  EXPECT_EQ(status["CapEff"], "0000000000000000");
  EXPECT_EQ(status["CapAmb"], "0000000000000000");
  EXPECT_EQ(status["Seccomp"], "2");
  EXPECT_GE(std::stoi(status["Seccomp_filters"]), 8);

  auto mounts = mounts_of(pid);
  EXPECT_TRUE(has_option(mounts["/"], "ro")) << mounts["/"];                        // protect_system = strict
  EXPECT_TRUE(has_option(mounts["/var/lib/redis"], "rw")) << mounts["/var/lib/redis"];
  EXPECT_TRUE(has_option(mounts["/var/log/redis"], "rw")) << mounts["/var/log/redis"];
  EXPECT_TRUE(has_option(mounts["/run/redis"], "rw")) << mounts["/run/redis"];      // -/var/run/redis
  EXPECT_EQ(mounts["/tmp"].substr(mounts["/tmp"].find(' ') + 1), "tmpfs");           // private_tmp
  EXPECT_EQ(mounts["/var/tmp"].substr(mounts["/var/tmp"].find(' ') + 1), "tmpfs");
  EXPECT_TRUE(has_option(mounts["/dev"], "ro")) << mounts["/dev"];                  // private_devices
  EXPECT_NE(mounts["/dev"].find("tmpfs"), std::string::npos) << mounts["/dev"];
  for (const char* hidden : {"/home", "/root", "/proc/kmsg", "/proc/kallsyms"}) {    // protect_home, kernel_*
    if (!fs::exists(hidden)) continue;
    EXPECT_TRUE(has_option(mounts[hidden], "ro") && has_option(mounts[hidden], "noexec")) << hidden << " "
                                                                                            << mounts[hidden];
  }
  EXPECT_TRUE(has_option(mounts["/proc/sys"], "ro")) << mounts["/proc/sys"];        // protect_kernel_tunables
  EXPECT_TRUE(has_option(mounts["/sys/fs/cgroup"], "ro")) << mounts["/sys/fs/cgroup"];  // protect_control_groups
  EXPECT_NE(ns_of(pid, "mnt"), ns_of(::getpid(), "mnt"));
  EXPECT_NE(ns_of(pid, "uts"), ns_of(::getpid(), "uts"));                           // protect_hostname

  EXPECT_EQ(d.stop(), 0) << d.daemon_log();
  if (!had_dump) fs::remove("/var/lib/redis/dump.rdb");
  if (made_run_dir) fs::remove_all("/run/redis");
}

}  // namespace
}  // namespace superd::test
