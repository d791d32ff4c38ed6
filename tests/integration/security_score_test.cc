// `superctl security` against systemd-analyze itself: for each service, a unit file that
// says in systemd's words what superd does for it (its sandbox table key by key, User=,
// UMask=, and what superd always does: a slave mount namespace when a path key asks for
// one, native-only system calls when a seccomp filter is loaded, the keyring inherited)
// is scored by `systemd-analyze security --offline=true`; superd's score must be within
// 0.1 of it. Services: one with nothing, Debian's hardened redis as `superd import`
// writes it, and one that takes the other branches (deny lists, "full", "read-only",
// ambient capabilities).
#include <unistd.h>

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <regex>
#include <sstream>
#include <toml++/toml.h>

#include "tests/integration/harness.h"

namespace superd::test {
namespace {

constexpr const char* kAnalyze = "/usr/bin/systemd-analyze";

const char* kDirective[][2] = {
    {"no_new_privileges", "NoNewPrivileges"}, {"private_tmp", "PrivateTmp"},
    {"private_devices", "PrivateDevices"}, {"protect_system", "ProtectSystem"},
    {"protect_home", "ProtectHome"}, {"read_write_paths", "ReadWritePaths"},
    {"read_only_paths", "ReadOnlyPaths"}, {"inaccessible_paths", "InaccessiblePaths"},
    {"capabilities", "CapabilityBoundingSet"}, {"ambient_capabilities", "AmbientCapabilities"},
    {"restrict_address_families", "RestrictAddressFamilies"}, {"system_call_filter", "SystemCallFilter"},
    {"memory_deny_write_execute", "MemoryDenyWriteExecute"}, {"protect_kernel_tunables", "ProtectKernelTunables"},
    {"protect_kernel_modules", "ProtectKernelModules"}, {"protect_kernel_logs", "ProtectKernelLogs"},
    {"protect_control_groups", "ProtectControlGroups"}, {"protect_clock", "ProtectClock"},
    {"protect_hostname", "ProtectHostname"}, {"restrict_namespaces", "RestrictNamespaces"},
    {"restrict_realtime", "RestrictRealtime"}, {"restrict_suid_sgid", "RestrictSUIDSGID"},
    {"lock_personality", "LockPersonality"}};
// Keys that make superd build a mount namespace, and keys that load a seccomp filter.
const char* kMounting[] = {"private_tmp", "private_devices", "protect_system", "protect_home", "read_write_paths",
                           "read_only_paths", "inaccessible_paths", "protect_kernel_tunables",
                           "protect_kernel_modules", "protect_kernel_logs", "protect_control_groups"};
const char* kFiltering[] = {"system_call_filter", "restrict_address_families", "memory_deny_write_execute",
                            "lock_personality", "restrict_realtime", "restrict_suid_sgid", "restrict_namespaces",
                            "protect_clock", "protect_kernel_tunables", "protect_kernel_modules",
                            "protect_kernel_logs", "private_devices", "protect_hostname"};

bool asks(const toml::table& sb, const char* key) {
  const toml::node* n = sb.get(key);
  if (!n) return false;
  if (const auto* b = n->as_boolean()) return b->get();
  if (const auto* a = n->as_array()) return !a->empty() || std::string(key) == "restrict_address_families";
  return true;
}

// The directive lines for one sandbox key.
std::string directive_lines(const std::string& name, const toml::node& v) {
  if (const auto* b = v.as_boolean()) return name + "=" + (b->get() ? "yes" : "no") + "\n";
  if (const auto* s = v.as_string()) return name + "=" + s->get() + "\n";
  const toml::array& a = *v.as_array();
  if (a.empty()) return name + (name == "RestrictAddressFamilies" ? "=none\n" : "=\n");
  std::string out;
  for (const toml::node& e : a) out += name + "=" + e.as_string()->get() + "\n";
  return out;
}

std::string equivalent_unit(const toml::table& service) {
  std::string unit = "[Service]\nExecStart=/bin/true\nKeyringMode=inherit\n";
  if (const auto* user = service.get_as<std::string>("user")) unit += "User=" + user->get() + "\n";
  unit += "UMask=" + service["umask"].value_or(std::string("0022")) + "\n";
  const toml::table empty;
  const toml::table& sb = service["sandbox"].as_table() ? *service["sandbox"].as_table() : empty;
  for (auto [key, directive] : kDirective) {
    if (const toml::node* v = sb.get(key)) unit += directive_lines(directive, *v);
  }
  if (std::any_of(std::begin(kMounting), std::end(kMounting), [&](const char* k) { return asks(sb, k); })) {
    unit += "PrivateMounts=yes\n";
  }
  if (std::any_of(std::begin(kFiltering), std::end(kFiltering), [&](const char* k) { return asks(sb, k); })) {
    unit += "SystemCallArchitectures=native\n";
  }
  return unit;
}

double systemd_score(const TempDir& dir, const std::string& name, const std::string& unit) {
  const std::string path = dir / (name + ".service");
  std::ofstream(path) << unit;
  auto r = run({kAnalyze, "security", "--offline=true", "--no-pager", path});
  std::smatch m;
  std::regex overall("Overall exposure level for " + name + R"(\.service: ([0-9]+\.[0-9]))");
  if (!std::regex_search(r.out, m, overall)) {
    ADD_FAILURE() << "no score from systemd-analyze for " << unit << "\n" << r.out << r.err;
    return -1;
  }
  return std::stod(m[1]);
}

constexpr const char* kOtherBranches = R"(
[service.branches]
command = ["/bin/sleep", "1000"]
enabled = false
user = "nobody"
umask = "0027"
[service.branches.sandbox]
protect_system = "full"
protect_home = "read-only"
capabilities = ["CAP_NET_BIND_SERVICE", "CAP_CHOWN", "CAP_KILL"]
ambient_capabilities = ["CAP_NET_BIND_SERVICE"]
restrict_address_families = ["~AF_PACKET", "~AF_NETLINK"]
system_call_filter = ["~@mount", "~@reboot", "~@swap", "~@privileged:EACCES"]
private_devices = true
protect_clock = true
restrict_namespaces = true
)";

TEST(SecurityScore, WithinATenthOfSystemdAnalyzeOnTheEquivalentUnit) {
  if (!file_exists(kAnalyze)) GTEST_SKIP() << kAnalyze << " is not installed";
  std::string services = "[service.bare]\ncommand = [\"/bin/sleep\", \"1000\"]\nenabled = false\n";
  services += kOtherBranches;
  const char* kRedisUnit = "/lib/systemd/system/redis-server.service";
  if (file_exists(kRedisUnit)) {
    auto imported = run({superd_bin(), "import", kRedisUnit});
    ASSERT_NE(imported.out.find("[service.redis-server.sandbox]"), std::string::npos) << imported.out << imported.err;
    toml::table doc = toml::parse(imported.out);
    doc["service"]["redis-server"].as_table()->insert_or_assign("enabled", false);
    std::ostringstream text;
    text << doc;
    services += "\n" + text.str() + "\n";
  }
  TempDir dir;
  Superd d(dir, services);
  ASSERT_TRUE(d.start()) << d.daemon_log();
  auto reply = d.ctl({"--json", "security"});
  ASSERT_EQ(reply.exit_code, 0) << reply.out << reply.err;
  auto result = nlohmann::json::parse(reply.out);
  toml::table config = toml::parse_file(d.config_path());
  size_t compared = 0;
  for (const auto& s : result["services"]) {
    const std::string name = s["name"];
    const toml::table& service = *config["service"][name].as_table();
    const std::string unit = equivalent_unit(service);
    const double theirs = systemd_score(dir, name, unit);
    const double ours = s["exposure"];
    EXPECT_LE(std::fabs(theirs - ours), 0.1 + 1e-9) << name << ": superd " << ours << ", systemd-analyze " << theirs
                                                    << "\n" << unit << s.dump(1);
    ++compared;
  }
  EXPECT_EQ(compared, file_exists(kRedisUnit) ? 3u : 2u);
  // The plain form: a line per service with its label, the heaviest checks with a key.
  auto plain = d.ctl({"security", "bare"});
  EXPECT_EQ(plain.exit_code, 0) << plain.err;
  EXPECT_NE(plain.out.find("bare  "), std::string::npos) << plain.out;
  EXPECT_NE(plain.out.find("PrivateNetwork="), std::string::npos) << plain.out;
  EXPECT_NE(plain.out.find("-> set sandbox."), std::string::npos) << plain.out;
  EXPECT_EQ(d.ctl({"security", "nosuch"}).exit_code, 4);
  EXPECT_EQ(d.stop(), 0) << d.daemon_log();
}

}  // namespace
}  // namespace superd::test
