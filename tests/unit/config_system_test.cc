// The config loader's checks of `after` (unknown names, cycles) and of the system
// (users, groups, executables, directories, env files), and loading from disk.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>

#include "tests/unit/config_test_util.h"

namespace superd {
namespace {

using namespace config_test;

// ---------------------------------------------------------------------------------------
// after and cycles.

TEST(ConfigAfter, UnknownServiceIsPointedAtItsElement) {
  EXPECT_EQ(errors("[service.app]\ncommand = [\"/bin/true\"]\nafter = [\"app2\", \"redis\"]\n"
                   "[service.app1]\ncommand = [\"/bin/true\"]\n"),
            "t.toml:3:10: unknown service 'app2' in 'after' (did you mean 'app'?)\n"
            "t.toml:3:18: unknown service 'redis' in 'after'\n");
}

TEST(ConfigAfter, Cycles) {
  EXPECT_EQ(errors(R"([service.a]
command = ["/bin/true"]
after = ["b"]
[service.b]
command = ["/bin/true"]
after = ["a"]
[service.c]
command = ["/bin/true"]
after = ["c"]
[service.d]
command = ["/bin/true"]
after = ["a", "f"]
[service.e]
command = ["/bin/true"]
after = ["d"]
[service.f]
command = ["/bin/true"]
after = ["e"]
)"),
            "t.toml:3:10: dependency cycle: a -> b -> a\n"
            "t.toml:9:10: dependency cycle: c -> c\n"
            "t.toml:12:15: dependency cycle: d -> f -> e -> d\n");
}

TEST(ConfigAfter, CycleIsReportedFromTheFirstServiceInTheFile) {
  // The search starts at x, which is not in the cycle and reaches it at c.
  EXPECT_EQ(errors(R"([service.a]
command = ["/bin/true"]
after = ["b"]
[service.b]
command = ["/bin/true"]
after = ["c"]
[service.c]
command = ["/bin/true"]
after = ["a"]
)"),
            "t.toml:3:10: dependency cycle: a -> b -> c -> a\n");
  EXPECT_EQ(errors(R"([service.a]
command = ["/bin/true"]
after = ["b"]
[service.c]
command = ["/bin/true"]
after = ["a"]
[service.b]
command = ["/bin/true"]
after = ["c"]
)"),
            "t.toml:3:10: dependency cycle: a -> b -> c -> a\n");
}

TEST(ConfigAfter, TwoCyclesThroughOneService) {
  EXPECT_EQ(errors(R"([service.a]
command = ["/bin/true"]
after = ["b", "c"]
[service.b]
command = ["/bin/true"]
after = ["a"]
[service.c]
command = ["/bin/true"]
after = ["a"]
)"),
            "t.toml:3:10: dependency cycle: a -> b -> a\n"
            "t.toml:3:15: dependency cycle: a -> c -> a\n");
}

TEST(ConfigAfter, LongChainDoesNotRecurse) {
  std::string text;
  const int n = 20000;
  for (int i = 0; i < n; ++i) {
    text += "[service.s" + std::to_string(i) + "]\ncommand = [\"/bin/true\"]\n";
    if (i + 1 < n) text += "after = [\"s" + std::to_string(i + 1) + "\"]\n";
  }
  Config c = load_ok(text);
  std::vector<std::string> order = c.start_order();
  ASSERT_EQ(order.size(), static_cast<size_t>(n));
  EXPECT_EQ(order.front(), "s" + std::to_string(n - 1));
  EXPECT_EQ(order.back(), "s0");
}

// ---------------------------------------------------------------------------------------
// System checks.

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/superd-config-test-XXXXXX";
    path_ = mkdtemp(tmpl);
  }
  ~TempDir() { std::system(("rm -rf '" + path_ + "'").c_str()); }
  std::string write(const std::string& name, const std::string& content, mode_t mode = 0644) {
    std::string p = path_ + "/" + name;
    std::ofstream(p) << content;
    chmod(p.c_str(), mode);
    return p;
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

TEST(ConfigSystem, UsersAndGroups) {
  EXPECT_EQ(errors(R"([supervisor]
socket_group = "no-such-group-xyz"
[service.a]
command = ["/bin/true"]
user = "no-such-user-xyz"
group = "no-such-group-xyz"
[service.b]
command = ["/bin/true"]
user = "nobody"
group = "daemon"
)",
                   kSystem),
            "t.toml:2:16: unknown group 'no-such-group-xyz'\n"
            "t.toml:5:8: unknown user 'no-such-user-xyz'\n"
            "t.toml:6:9: unknown group 'no-such-group-xyz'\n");
}

TEST(ConfigSystem, Executables) {
  TempDir dir;
  dir.write("tool", "#!/bin/sh\n", 0755);
  dir.write("plain", "data\n", 0644);
  EXPECT_EQ(errors(R"([service.a]
command = ["/usr/bin/gunicornx"]
[service.b]
command = ["/etc/passwd"]
[service.c]
command = ["/tmp"]
[service.d]
command = ["gunicornx", "--bind"]
[service.e]
command = ["tool"]
environment = { PATH = ")" + dir.path() + R"(" }
[service.f]
command = ["plain"]
environment = { PATH = "/nonexistent::)" + dir.path() + R"(" }
[service.g]
command = ["sh", "-c", "true"]
ready = { exec = ["/bin/nope"] }
health = { exec = ["nope-either"] }
)",
                   kSystem),
            "t.toml:2:12: '/usr/bin/gunicornx' does not exist\n"
            "t.toml:4:12: '/etc/passwd' is not executable\n"
            "t.toml:6:12: '/tmp' is not a regular file\n"
            "t.toml:8:12: 'gunicornx' not found in PATH (/usr/local/bin:/usr/bin:/bin)\n"
            "t.toml:13:12: 'plain' not found in PATH (/nonexistent::" +
                dir.path() +
                ")\n"
                "t.toml:17:19: '/bin/nope' does not exist\n"
                "t.toml:18:20: 'nope-either' not found in PATH (/usr/local/bin:/usr/bin:/bin)\n");
}

TEST(ConfigSystem, Directories) {
  EXPECT_EQ(errors("[service.a]\ncommand = [\"/bin/true\"]\ndirectory = \"/no/such\"\n"
                   "[service.b]\ncommand = [\"/bin/true\"]\ndirectory = \"/etc/passwd\"\n",
                   kSystem),
            "t.toml:3:13: directory '/no/such' does not exist\n"
            "t.toml:6:13: '/etc/passwd' is not a directory\n");
}

TEST(ConfigSystem, EnvFileErrorsAreListedAtTheEnvFileKey) {
  TempDir dir;
  std::string good = dir.write("good.env", "A=1\n");
  std::string bad = dir.write("bad.env", "A=1\nnot valid\nB-C=2\n");
  EXPECT_EQ(errors("[service.a]\ncommand = [\"/bin/true\"]\nenv_file = \"" + bad +
                       "\"\n"
                       "user = \"no-such-user-xyz\"\n"
                       "[service.b]\ncommand = [\"/bin/true\"]\nenv_file = \"" +
                       good + "\"\n[service.c]\ncommand = [\"/bin/true\"]\nenv_file = \"" + dir.path() +
                       "/missing.env\"\n",
                   kSystem),
            bad + ":2:1: expected KEY=VALUE\n" + bad +
                ":3:1: invalid variable name 'B-C' (use letters, digits and '_', not starting with a digit)\n"
                "t.toml:4:8: unknown user 'no-such-user-xyz'\n"
                "t.toml:10:12: env_file '" +
                dir.path() + "/missing.env' does not exist\n");
}

TEST(ConfigSystem, SkippedWhenNotAsked) {
  load_ok("[service.a]\ncommand = [\"nope-xyz\"]\nuser = \"no-such-user-xyz\"\ndirectory = \"/no/such\"\n");
}

TEST(ConfigFile, LoadsFromDiskAndReportsUnreadableFiles) {
  TempDir dir;
  std::string path = dir.write("super.toml", "[service.a]\ncommand = [\"/bin/true\"]\n");
  LoadResult r = load_config_file(path);
  ASSERT_TRUE(r.config.has_value()) << (r.errors.empty() ? "" : r.errors[0].format());
  EXPECT_EQ(r.config->path, path);
  EXPECT_EQ(r.config->services[0].pos.file, path);

  r = load_config_file(dir.path() + "/missing.toml");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].format(), dir.path() + "/missing.toml: config file does not exist");
  r = load_config_file(dir.path());
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].format(), dir.path() + ": config file is not a regular file");
}

}  // namespace
}  // namespace superd
