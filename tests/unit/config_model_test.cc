// The config model (error format, find, start order, same_definition for
// reload-config) and the loader's robustness on mutated and odd documents.
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <csignal>
#include <random>

#include "supervisor/reload_plan.h"
#include "tests/unit/config_test_util.h"

namespace superd {
namespace {

using namespace config_test;

// ---------------------------------------------------------------------------------------
// The model.

TEST(ConfigModel, ErrorFormat) {
  EXPECT_EQ((ConfigError{{"f.toml", 3, 7}, "bad"}).format(), "f.toml:3:7: bad");
  EXPECT_EQ((ConfigError{{"f.toml", 0, 0}, "bad"}).format(), "f.toml: bad");
  EXPECT_EQ((ConfigError{{"", 0, 0}, "bad"}).format(), "bad");
}

TEST(ConfigModel, Find) {
  Config c = load_ok(kFull);
  ASSERT_NE(c.find("db"), nullptr);
  EXPECT_EQ(c.find("db")->name, "db");
  EXPECT_EQ(c.find("nope"), nullptr);
}

std::vector<std::string> order_of(std::string_view text) { return load(text).config.value_or(Config{}).start_order(); }

TEST(ConfigModel, StartOrderFollowsAfterAndKeepsFileOrderOtherwise) {
  EXPECT_EQ(order_of(R"(
[service.app]
command = ["/bin/true"]
after = ["redis", "db"]
[service.flower]
command = ["/bin/true"]
[service.worker]
command = ["/bin/true"]
after = ["redis"]
[service.db]
command = ["/bin/true"]
[service.redis]
command = ["/bin/true"]
)"),
            (std::vector<std::string>{"flower", "db", "redis", "app", "worker"}));
}

TEST(ConfigModel, StartOrderSurvivesCyclesAndUnknownNames) {
  // The loader refuses these; start_order must still terminate and list everyone.
  Config c;
  for (std::string name : {"a", "b", "c", "d"}) {
    ServiceConfig s;
    s.name = name;
    c.services.push_back(s);
  }
  c.services[0].after = {"b"};
  c.services[1].after = {"a"};
  c.services[2].after = {"ghost", "d", "d"};
  EXPECT_EQ(c.start_order(), (std::vector<std::string>{"d", "c", "a", "b"}));
}

TEST(ConfigModel, SameDefinitionIgnoresPositionOnly) {
  Config c = load_ok(kFull);
  ServiceConfig a = c.services[0];
  ServiceConfig b = a;
  b.pos = {"other.toml", 99, 3};
  EXPECT_TRUE(a.same_definition(b));

  auto differs = [&](auto change) {
    ServiceConfig x = a;
    change(x);
    return !a.same_definition(x) && !x.same_definition(a);
  };
  EXPECT_TRUE(differs([](ServiceConfig& s) { s.name = "other"; }));
  EXPECT_TRUE(differs([](ServiceConfig& s) { s.command.push_back("--more"); }));
  EXPECT_TRUE(differs([](ServiceConfig& s) { s.directory = "/"; }));
  EXPECT_TRUE(differs([](ServiceConfig& s) { s.user = "root"; }));
  EXPECT_TRUE(differs([](ServiceConfig& s) { s.group = "root"; }));
  EXPECT_TRUE(differs([](ServiceConfig& s) { s.environment["X"] = "1"; }));
  EXPECT_TRUE(differs([](ServiceConfig& s) { s.env_file = ""; }));
  EXPECT_TRUE(differs([](ServiceConfig& s) { s.umask = 0; }));
  EXPECT_TRUE(differs([](ServiceConfig& s) { s.limits[RLIMIT_NOFILE] = 1; }));
  EXPECT_TRUE(differs([](ServiceConfig& s) { s.enabled = !s.enabled; }));
  EXPECT_TRUE(differs([](ServiceConfig& s) { s.restart = RestartPolicy::never; }));
  EXPECT_TRUE(differs([](ServiceConfig& s) { s.start_seconds += milliseconds(1); }));
  EXPECT_TRUE(differs([](ServiceConfig& s) { s.start_retries += 1; }));
  EXPECT_TRUE(differs([](ServiceConfig& s) { s.backoff_initial += milliseconds(1); }));
  EXPECT_TRUE(differs([](ServiceConfig& s) { s.backoff_max += milliseconds(1); }));
  EXPECT_TRUE(differs([](ServiceConfig& s) { s.stop_signal = SIGKILL; }));
  EXPECT_TRUE(differs([](ServiceConfig& s) { s.stop_mode = StopMode::main; }));
  EXPECT_TRUE(differs([](ServiceConfig& s) { s.stop_timeout += milliseconds(1); }));
  EXPECT_TRUE(differs([](ServiceConfig& s) { s.reload_signal = SIGHUP; }));
  EXPECT_TRUE(differs([](ServiceConfig& s) { s.ready.interval += milliseconds(1); }));
  EXPECT_TRUE(differs([](ServiceConfig& s) { s.ready.http.target += "x"; }));
  EXPECT_TRUE(differs([](ServiceConfig& s) { s.ready.http.authority.port += 1; }));
  EXPECT_TRUE(differs([](ServiceConfig& s) { s.health->tcp.address = *IpAddress::parse("127.0.0.1"); }));
  EXPECT_TRUE(differs([](ServiceConfig& s) { s.ready.log = *LogPattern::compile("x", nullptr); }));
  EXPECT_TRUE(differs([](ServiceConfig& s) { s.health.reset(); }));
  EXPECT_TRUE(differs([](ServiceConfig& s) { s.health->failures += 1; }));
  EXPECT_TRUE(differs([](ServiceConfig& s) { s.listen.pop_back(); }));
  EXPECT_TRUE(differs([](ServiceConfig& s) { s.listen[0].tcp.port += 1; }));
  EXPECT_TRUE(differs([](ServiceConfig& s) { s.after.clear(); }));
  EXPECT_TRUE(differs([](ServiceConfig& s) { s.stdout_path += "x"; }));
  EXPECT_TRUE(differs([](ServiceConfig& s) { s.stderr_path += "x"; }));
  EXPECT_TRUE(differs([](ServiceConfig& s) { s.log_max_bytes += 1; }));
  EXPECT_TRUE(differs([](ServiceConfig& s) { s.log_backups += 1; }));
}

TEST(ConfigModel, ReloadDiffOfTwoLoads) {
  // What reload-config sees: a table moved and a comment added is the same service; a
  // changed value is not.
  Config before = load_ok("[service.a]\ncommand = [\"/bin/true\"]\n[service.b]\ncommand = [\"/bin/true\"]\n");
  Config after = load_ok(
      "# moved\n[service.b]\ncommand = [\"/bin/true\"]\nstop_timeout = \"5s\"\n\n[service.a]\n"
      "command = [\"/bin/true\"]\n");
  EXPECT_TRUE(before.find("a")->same_definition(*after.find("a")));
  EXPECT_FALSE(before.find("b")->same_definition(*after.find("b")));
}

TEST(ConfigModel, ReloadPlanSortsEveryServiceIntoOneList) {
  Config before = load_ok(
      "[service.gone]\ncommand = [\"/bin/true\"]\n[service.same]\ncommand = [\"/bin/true\"]\n"
      "[service.edited]\ncommand = [\"/bin/true\"]\n[service.limited]\ncommand = [\"/bin/true\"]\n");
  Config after = load_ok(
      "[service.same]\ncommand = [\"/bin/true\"]\n[service.edited]\ncommand = [\"/bin/false\"]\n"
      "[service.limited]\ncommand = [\"/bin/true\"]\nresources = { memory_max = \"64MiB\" }\n"
      "[service.new]\ncommand = [\"/bin/true\"]\n");
  const ReloadPlan plan = plan_reload(before, after);
  using V = std::vector<std::string>;
  EXPECT_EQ(plan.removed, V{"gone"});
  EXPECT_EQ(plan.added, V{"new"});
  EXPECT_EQ(plan.changed, V{"edited"});
  EXPECT_EQ(plan.unchanged, (V{"same", "limited"}));
  EXPECT_EQ(plan.resources_changed, V{"limited"});
}

TEST(ConfigModel, ServiceIndexFindsWhatFindFinds) {
  Config c = load_ok("[service.a]\ncommand = [\"/bin/true\"]\n[service.b]\ncommand = [\"/bin/true\"]\n");
  const ServiceIndex index(c.services);
  EXPECT_EQ(index.find("a"), c.find("a"));
  EXPECT_EQ(index.find("b"), c.find("b"));
  EXPECT_EQ(index.find("c"), nullptr);
  EXPECT_EQ(ServiceIndex().find("a"), nullptr);
}

// ---------------------------------------------------------------------------------------
// Robustness: the loader is fuzzed later; a cheap in-process mutation run catches the
// obvious (exceptions, crashes on odd types) now.

TEST(ConfigRobustness, MutatedConfigsNeverThrow) {
  // Mutated hosts would be looked up in DNS, thousands of times: system checks only.
  const LoadOptions kNoLookups{.check_system = true, .resolve_hosts = false};
  const std::string seed(kFull);
  const std::string alphabet = "[]{}=\"',.#\n 0123456789-:/\\abcsu";
  std::mt19937 rng(12345);
  for (int round = 0; round < 3000; ++round) {
    std::string text = seed;
    int edits = 1 + static_cast<int>(rng() % 8);
    for (int e = 0; e < edits; ++e) {
      size_t at = rng() % (text.size() + 1);
      switch (rng() % 3) {
        case 0: text.insert(at, 1, alphabet[rng() % alphabet.size()]); break;
        case 1: if (at < text.size()) text.erase(at, 1); break;
        default: if (at < text.size()) text[at] = static_cast<char>(rng() % 256); break;
      }
    }
    LoadResult r;
    ASSERT_NO_THROW(r = load_config_string(text, "fuzz.toml", kNoLookups)) << text;
    EXPECT_EQ(r.config.has_value(), r.errors.empty());
  }
}

TEST(ConfigRobustness, OddDocuments) {
  for (std::string_view text : {
           std::string_view("\0\0\0", 3), std::string_view("\xff\xfe"), std::string_view("[[service]]\n"),
           std::string_view("[service.a]\ncommand = [[\"x\"]]\n"), std::string_view("service.a.command.x = 1\n"),
           std::string_view("[service.a]\nready = { exec = \"/bin/true\" }\nhealth = { exec = [1] }\n"),
           std::string_view("[service.a]\nlimits = 5\nafter = [[]]\nlisten = [{}]\n"),
           std::string_view("a = 1979-05-27T07:32:00Z\n[service.x]\ncommand = [1979-05-27]\n"),
       }) {
    LoadResult r;
    ASSERT_NO_THROW(r = load_config_string(text, "odd.toml", kSystem));
    EXPECT_FALSE(r.errors.empty()) << text;
  }
}

}  // namespace
}  // namespace superd
