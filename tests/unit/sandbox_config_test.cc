// The `sandbox` table's loader (config_sandbox_load.cc) and its translation into the
// kernel's terms (sandbox_spec_of.cc), without processes: what each key accepts and
// refuses, with which message at which position, and what each directive becomes.
#include <gtest/gtest.h>

#include <algorithm>
#include <sched.h>
#include <linux/capability.h>
#include <sys/socket.h>
#include <toml++/toml.h>

#include "supervisor/config_load.h"
#include "supervisor/config_sandbox_load.h"
#include "supervisor/sandbox_spec_of.h"

namespace superd {
namespace {

struct Loaded {
  SandboxConfig config;
  std::vector<std::string> errors;  // "LINE:COL: message"
};

Loaded load(std::string_view text, SandboxConfig start = {}) {
  Loaded out{std::move(start), {}};
  toml::table doc = toml::parse(text);
  load_sandbox(*doc.get("sandbox"), "[service.app.sandbox]", out.config,
               [&](const toml::source_position& p, std::string message) {
                 out.errors.push_back(std::to_string(p.line) + ":" + std::to_string(p.column) + ": " + message);
               });
  return out;
}

using Errors = std::vector<std::string>;

TEST(SandboxConfig, EveryKeyOfSpecsExample) {
  auto r = load(R"([sandbox]
no_new_privileges = true
private_tmp       = true
private_devices   = true
protect_system    = "strict"
protect_home      = true
read_write_paths  = ["/var/lib/redis", "-/var/log//redis/"]
read_only_paths   = []
inaccessible_paths = ["/srv/secret"]
capabilities      = []
ambient_capabilities = []
restrict_address_families = ["AF_INET", "AF_INET6", "AF_UNIX"]
system_call_filter = ["@system-service", "~@privileged", "~@resources"]
memory_deny_write_execute = true
protect_kernel_tunables = true
protect_kernel_modules  = true
protect_kernel_logs     = true
protect_control_groups  = true
protect_clock           = true
protect_hostname        = true
restrict_namespaces     = true
restrict_realtime       = true
restrict_suid_sgid      = true
lock_personality        = true
)");
  EXPECT_EQ(r.errors, Errors{});
  const SandboxConfig& c = r.config;
  EXPECT_TRUE(c.no_new_privileges && c.private_tmp && c.private_devices && c.memory_deny_write_execute);
  EXPECT_EQ(c.protect_system, SandboxConfig::ProtectSystem::strict);
  EXPECT_EQ(c.protect_home, SandboxConfig::ProtectHome::on);
  EXPECT_EQ(c.read_write_paths, (std::vector<std::string>{"/var/lib/redis", "-/var/log/redis"}));
  EXPECT_EQ(c.inaccessible_paths, std::vector<std::string>{"/srv/secret"});
  EXPECT_TRUE(c.capabilities_set);
  EXPECT_TRUE(c.capabilities.empty());
  EXPECT_TRUE(c.restrict_address_families_set);
  EXPECT_EQ(c.system_call_filter.size(), 3u);
  EXPECT_TRUE(c.protect_kernel_tunables && c.protect_kernel_modules && c.protect_kernel_logs &&
              c.protect_control_groups && c.protect_clock && c.protect_hostname && c.restrict_namespaces &&
              c.restrict_realtime && c.restrict_suid_sgid && c.lock_personality);
}

TEST(SandboxConfig, UnknownNamesAreErrorsAtTheirElement) {
  auto r = load(R"([sandbox]
capabilities = ["CAP_NET_BIND_SERVIC", "cap_chown", "12"]
restrict_address_families = ["AF_INETT", "~AF_PACKET"]
system_call_filter = ["@system-servic", "reed", "~@privileged", "@nope"]
privte_tmp = true
)");
  EXPECT_EQ(r.errors, (Errors{
      "2:17: unknown capability 'CAP_NET_BIND_SERVIC' in 'sandbox.capabilities' (did you mean 'CAP_NET_BIND_SERVICE'?)",
      "2:53: unknown capability '12' in 'sandbox.capabilities'",
      "3:30: unknown address family 'AF_INETT' in 'sandbox.restrict_address_families' (did you mean 'AF_INET'?)",
      "4:23: unknown system call group '@system-servic' in 'sandbox.system_call_filter' (did you mean '@system-service'?)",
      "4:41: unknown system call 'reed' in 'sandbox.system_call_filter' (did you mean 'read'?)",
      "4:65: unknown system call group '@nope' in 'sandbox.system_call_filter'",
      "5:14: unknown key 'privte_tmp' in [service.app.sandbox] (did you mean 'private_tmp'?)",
  }));
  // A refused list leaves the field as it was.
  EXPECT_FALSE(r.config.capabilities_set);
  EXPECT_FALSE(r.config.restrict_address_families_set);
  EXPECT_TRUE(r.config.system_call_filter.empty());
}

TEST(SandboxConfig, WrongTypesAndValues) {
  auto r = load(R"([sandbox]
private_tmp = "yes"
protect_system = "ful"
protect_home = 1
read_write_paths = ["var/lib", "/a/../b", 3]
capabilities = "CAP_CHOWN"
)");
  EXPECT_EQ(r.errors, (Errors{
      "2:15: 'sandbox.private_tmp' must be a boolean, not a string",
      "3:18: invalid 'sandbox.protect_system' value 'ful' (expected true, false, \"full\" or \"strict\")",
      "4:16: 'sandbox.protect_home' must be a boolean, \"read-only\" or \"tmpfs\", not an integer",
      "5:43: 'sandbox.read_write_paths' must be an array of strings, but this is an integer",
      "5:21: 'sandbox.read_write_paths' must hold absolute paths (optionally prefixed with '-'), not 'var/lib'",
      "5:32: 'sandbox.read_write_paths' must not contain '.' or '..' components: '/a/../b'",
      "6:16: 'sandbox.capabilities' must be an array of strings, not a string",
  }));
}

TEST(SandboxConfig, ErrnoSuffixesBelongToDenyLists) {
  auto good = load(R"([sandbox]
system_call_filter = ["~@mount:EACCES", "~reboot:kill", "~sync:13", "@mount"]
)");
  EXPECT_EQ(good.errors, Errors{});
  auto bad = load(R"([sandbox]
system_call_filter = ["read:EPERM", "~write:EBOGUS"]
)");
  EXPECT_EQ(bad.errors, (Errors{
      "2:23: an errno only goes with a denied call ('~read:EPERM'), not 'read:EPERM'",
      "2:37: '~write:EBOGUS': this list starts with an allowed call, so whatever it does not allow is refused with EPERM; an errno here would have no effect",
  }));
  auto bad_errno = load(R"([sandbox]
system_call_filter = ["~write:EBOGUS", "~read:5000"]
)");
  EXPECT_EQ(bad_errno.errors, (Errors{
      "2:23: invalid errno 'EBOGUS' in 'sandbox.system_call_filter' (expected a name such as EPERM, a number from 0 to 4095, or kill)",
      "2:40: invalid errno '5000' in 'sandbox.system_call_filter' (expected a name such as EPERM, a number from 0 to 4095, or kill)",
  }));
}

TEST(SandboxConfig, AmbientCapabilitiesMustBeInTheBoundingSetOfTheSameTable) {
  auto r = load(R"([sandbox]
capabilities = ["CAP_CHOWN"]
ambient_capabilities = ["CAP_NET_BIND_SERVICE"]
)");
  EXPECT_EQ(r.errors, Errors{"3:25: ambient capability CAP_NET_BIND_SERVICE is not in 'sandbox.capabilities' "
                             "(the bounding set), so it could never be raised"});
}

TEST(SandboxConfig, AServiceTableOverridesItsDefaultsKeyByKey) {
  auto defaults = load(R"([sandbox]
private_tmp = true
read_write_paths = ["/srv/a"]
)");
  ASSERT_EQ(defaults.errors, Errors{});
  auto service = load(R"([sandbox]
read_write_paths = ["/srv/b"]
protect_system = "full"
)", defaults.config);
  ASSERT_EQ(service.errors, Errors{});
  EXPECT_TRUE(service.config.private_tmp);
  EXPECT_EQ(service.config.read_write_paths, std::vector<std::string>{"/srv/b"});
  EXPECT_EQ(service.config.protect_system, SandboxConfig::ProtectSystem::full);
}

TEST(SandboxConfig, NotATable) {
  SandboxConfig c;
  std::vector<std::string> errors;
  toml::table doc = toml::parse("sandbox = 3\n");
  load_sandbox(*doc.get("sandbox"), "[service.app]", c, [&](const toml::source_position& p, std::string m) {
    errors.push_back(std::to_string(p.line) + ":" + std::to_string(p.column) + ": " + m);
  });
  EXPECT_EQ(errors, Errors{"1:11: 'sandbox' must be a table, not an integer"});
}

TEST(SandboxConfig, DefaultsReachEveryServiceThroughTheLoader) {
  LoadOptions no_system;
  no_system.check_system = false;
  LoadResult r = load_config_string(R"([defaults.sandbox]
private_tmp = true
protect_system = "strict"

[service.a]
command = ["/bin/true"]

[service.b]
command = ["/bin/true"]
[service.b.sandbox]
protect_system = false
read_write_paths = ["/srv/b"]
)", "t.toml", no_system);
  ASSERT_TRUE(r.config) << (r.errors.empty() ? "" : r.errors[0].format());
  const SandboxConfig& a = r.config->find("a")->sandbox;
  const SandboxConfig& b = r.config->find("b")->sandbox;
  EXPECT_TRUE(a.private_tmp && b.private_tmp);
  EXPECT_EQ(a.protect_system, SandboxConfig::ProtectSystem::strict);
  EXPECT_EQ(b.protect_system, SandboxConfig::ProtectSystem::off);
  EXPECT_EQ(b.read_write_paths, std::vector<std::string>{"/srv/b"});
}

TEST(SandboxConfig, AnErrorInDefaultsIsReportedOnce) {
  LoadOptions no_system;
  no_system.check_system = false;
  LoadResult r = load_config_string("[defaults.sandbox]\ncapabilities = [\"CAP_NOPE\"]\n"
                                    "[service.a]\ncommand = [\"/bin/true\"]\n"
                                    "[service.b]\ncommand = [\"/bin/true\"]\n",
                                    "t.toml", no_system);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].format(), "t.toml:2:17: unknown capability 'CAP_NOPE' in 'sandbox.capabilities'");
}

// ---- translation

const SandboxSpec::PathRule* rule(const SandboxSpec& s, const std::string& path) {
  for (const auto& r : s.paths) {
    if (r.path == path) return &r;
  }
  return nullptr;
}

bool has_syscall(const SandboxSpec::SyscallFilter& f, const std::string& name) {
  return std::any_of(f.syscalls.begin(), f.syscalls.end(), [&](const auto& s) { return s.name == name; });
}

TEST(SandboxSpecOf, AnEmptyTableAsksForNothing) {
  EXPECT_TRUE(sandbox_spec_of(SandboxConfig{}).empty());
}

TEST(SandboxSpecOf, ProtectSystemStrictLeavesTheApiFileSystemsAndHomesToTheirKeys) {
  SandboxConfig c;
  c.protect_system = SandboxConfig::ProtectSystem::strict;
  c.read_write_paths = {"-/var/lib/redis"};
  SandboxSpec s = sandbox_spec_of(c);
  ASSERT_TRUE(rule(s, "/"));
  EXPECT_EQ(rule(s, "/")->mode, SandboxSpec::PathMode::read_only);
  for (const char* p : {"/proc", "/sys", "/dev", "/home", "/root", "/run/user"}) {
    ASSERT_TRUE(rule(s, p)) << p;
    EXPECT_EQ(rule(s, p)->mode, SandboxSpec::PathMode::read_write_implicit) << p;
  }
  ASSERT_TRUE(rule(s, "/var/lib/redis"));
  EXPECT_EQ(rule(s, "/var/lib/redis")->mode, SandboxSpec::PathMode::read_write);
  EXPECT_TRUE(rule(s, "/var/lib/redis")->ignore_missing);
  EXPECT_TRUE(s.mount_namespace);
}

TEST(SandboxSpecOf, ProtectHomeAndSystemLevels) {
  SandboxConfig c;
  c.protect_system = SandboxConfig::ProtectSystem::on;
  c.protect_home = SandboxConfig::ProtectHome::tmpfs;
  SandboxSpec s = sandbox_spec_of(c);
  EXPECT_TRUE(rule(s, "/usr") && !rule(s, "/etc"));
  EXPECT_TRUE(rule(s, "/boot")->ignore_missing);
  EXPECT_EQ(rule(s, "/root")->mode, SandboxSpec::PathMode::tmpfs_read_only);
  EXPECT_EQ(rule(s, "/root")->tmpfs_mode, "0700");
  c.protect_system = SandboxConfig::ProtectSystem::full;
  c.protect_home = SandboxConfig::ProtectHome::on;
  s = sandbox_spec_of(c);
  EXPECT_EQ(rule(s, "/etc")->mode, SandboxSpec::PathMode::read_only);
  EXPECT_EQ(rule(s, "/home")->mode, SandboxSpec::PathMode::inaccessible);
}

TEST(SandboxSpecOf, ProtectDirectivesDropTheirCapabilitiesAndSyscalls) {
  SandboxConfig c;
  c.private_devices = true;
  c.protect_clock = true;
  c.protect_kernel_modules = true;
  c.protect_kernel_logs = true;
  c.protect_hostname = true;
  SandboxSpec s = sandbox_spec_of(c);
  ASSERT_TRUE(s.bounding);
  for (int cap : {CAP_MKNOD, CAP_SYS_RAWIO, CAP_SYS_TIME, CAP_WAKE_ALARM, CAP_SYS_MODULE, CAP_SYSLOG}) {
    EXPECT_FALSE(*s.bounding & (uint64_t{1} << cap)) << cap;
  }
  EXPECT_TRUE(*s.bounding & (uint64_t{1} << CAP_NET_BIND_SERVICE));
  for (const char* call : {"ioperm", "clock_settime", "init_module", "syslog", "sethostname", "setdomainname"}) {
    EXPECT_TRUE(std::count(s.deny_syscalls.begin(), s.deny_syscalls.end(), call)) << call;
  }
  EXPECT_TRUE(s.uts_namespace);
  EXPECT_EQ(rule(s, "/dev")->mode, SandboxSpec::PathMode::private_dev);
  EXPECT_EQ(rule(s, "/dev/kmsg")->mode, SandboxSpec::PathMode::inaccessible);
  EXPECT_TRUE(s.no_new_privileges_unless_sys_admin);
  EXPECT_FALSE(s.no_new_privileges);
}

TEST(SandboxSpecOf, CapabilitiesBecomeMasks) {
  SandboxConfig c;
  c.capabilities_set = true;
  c.capabilities = {"CAP_NET_BIND_SERVICE", "CAP_CHOWN"};
  c.ambient_capabilities = {"CAP_NET_BIND_SERVICE"};
  SandboxSpec s = sandbox_spec_of(c);
  EXPECT_EQ(s.bounding, (uint64_t{1} << CAP_NET_BIND_SERVICE) | (uint64_t{1} << CAP_CHOWN));
  EXPECT_EQ(s.ambient, uint64_t{1} << CAP_NET_BIND_SERVICE);
  c.capabilities.clear();
  c.ambient_capabilities.clear();
  EXPECT_EQ(sandbox_spec_of(c).bounding, uint64_t{0});
}

// systemd.exec(5): the first entry decides allow or deny list; the others add or take away.
TEST(SandboxSpecOf, SyscallListsMergeLikeSystemds) {
  SandboxConfig c;
  c.system_call_filter = {"@system-service", "~@privileged", "~@resources"};
  SandboxSpec s = sandbox_spec_of(c);
  ASSERT_TRUE(s.syscall_filter);
  EXPECT_TRUE(s.syscall_filter->allow_list);
  EXPECT_TRUE(has_syscall(*s.syscall_filter, "read"));
  EXPECT_TRUE(has_syscall(*s.syscall_filter, "execve"));  // @default, always allowed
  EXPECT_FALSE(has_syscall(*s.syscall_filter, "setuid"));  // @privileged
  EXPECT_FALSE(has_syscall(*s.syscall_filter, "setrlimit"));  // @resources
  EXPECT_FALSE(has_syscall(*s.syscall_filter, "mount"));  // never in @system-service

  c.system_call_filter = {"~@mount", "~sync:EACCES", "umount2"};
  s = sandbox_spec_of(c);
  EXPECT_FALSE(s.syscall_filter->allow_list);
  EXPECT_TRUE(has_syscall(*s.syscall_filter, "mount"));
  EXPECT_FALSE(has_syscall(*s.syscall_filter, "umount2"));  // taken back out of the deny list
  for (const auto& call : s.syscall_filter->syscalls) {
    if (call.name == "sync") {
      EXPECT_EQ(call.error, EACCES);
    }
    if (call.name == "mount") {
      EXPECT_EQ(call.error, EPERM);
    }
  }
}

TEST(SandboxSpecOf, AddressFamilies) {
  SandboxConfig c;
  c.restrict_address_families_set = true;
  c.restrict_address_families = {"AF_UNIX", "AF_INET", "~AF_INET"};
  SandboxSpec s = sandbox_spec_of(c);
  ASSERT_TRUE(s.address_families);
  EXPECT_TRUE(s.address_families->allow_list);
  EXPECT_EQ(s.address_families->families, std::vector<int>{AF_UNIX});
  c.restrict_address_families = {"~AF_PACKET"};
  s = sandbox_spec_of(c);
  EXPECT_FALSE(s.address_families->allow_list);
  EXPECT_EQ(s.address_families->families, std::vector<int>{AF_PACKET});
  c.restrict_address_families = {};  // systemd's "none"
  s = sandbox_spec_of(c);
  EXPECT_TRUE(s.address_families->allow_list);
  EXPECT_TRUE(s.address_families->families.empty());
}

TEST(SandboxSpecOf, RestrictNamespacesAllowsNone) {
  SandboxConfig c;
  c.restrict_namespaces = true;
  SandboxSpec s = sandbox_spec_of(c);
  ASSERT_TRUE(s.allowed_namespaces);
  EXPECT_EQ(*s.allowed_namespaces, 0u);
  EXPECT_TRUE(s.has_seccomp());
}

}  // namespace
}  // namespace superd
