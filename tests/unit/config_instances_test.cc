// `instances = N`: the loader's template and its instances, "{instance}" in every value
// that takes it, the errors at the right place, and the config re-counted for `scale`.
#include "supervisor/config_instances.h"

#include <gtest/gtest.h>

#include "tests/unit/config_test_util.h"

namespace superd {
namespace {

using config_test::errors;
using config_test::kNoSystem;
using config_test::load_ok;

constexpr std::string_view kWorker = R"([supervisor]
log_dir = "/var/log/s"

[service.redis]
command = ["redis-server"]

[service.worker]
command = ["celery", "worker", "-n", "worker{instance}@%h"]
instances = 3
environment = { QUEUE = "q{instance}", PLAIN = "x" }
env_file = "/etc/w{instance}.env"
listen = ["tcp:127.0.0.1:800{instance}", "unix:/run/w{instance}.sock"]
ready = { http = "http://localhost:800{instance}/ready" }
health = { log = "worker{instance} ready" }
after = ["redis"]

[service.flower]
command = ["flower"]
after = ["worker"]
)";

const LoadOptions kNoLookups{.check_system = false, .resolve_hosts = false};

TEST(ConfigInstances, ATableWithInstancesIsOneServicePerInstanceInFileOrder) {
  Config c = load_ok(kWorker, kNoLookups);
  std::vector<std::string> names;
  for (const auto& s : c.services) names.push_back(s.name);
  EXPECT_EQ(names, (std::vector<std::string>{"redis", "worker@0", "worker@1", "worker@2", "flower"}));
  ASSERT_EQ(c.templates.size(), 1u);
  EXPECT_EQ(c.templates[0].name, "worker");
  EXPECT_EQ(c.templates[0].instances, 3);
  EXPECT_EQ(c.find("redis")->instance, -1);
  EXPECT_EQ(c.find("redis")->template_name, "");
  const ServiceConfig& w1 = *c.find("worker@1");
  EXPECT_EQ(w1.template_name, "worker");
  EXPECT_EQ(w1.instance, 1);
  EXPECT_EQ(w1.command, (std::vector<std::string>{"celery", "worker", "-n", "worker1@%h"}));
  EXPECT_EQ(w1.environment.at("QUEUE"), "q1");
  EXPECT_EQ(w1.environment.at("PLAIN"), "x");
  EXPECT_EQ(w1.env_file, "/etc/w1.env");
  ASSERT_EQ(w1.listen.size(), 2u);
  EXPECT_EQ(w1.listen[0].to_string(), "tcp:127.0.0.1:8001");
  EXPECT_EQ(w1.listen[1].to_string(), "unix:/run/w1.sock");
  EXPECT_EQ(w1.ready.http.to_string(), "http://localhost:8001/ready");
  EXPECT_TRUE(w1.health->log.search("worker1 ready"));
  EXPECT_FALSE(w1.health->log.search("worker2 ready"));
  // Each its own log file, by default.
  EXPECT_EQ(w1.stdout_path, "/var/log/s/worker@1.log");
  EXPECT_EQ(w1.stderr_path, "/var/log/s/worker@1.log");
  // `after` a template: every instance, in the start order too.
  const auto order = c.start_order();
  EXPECT_EQ(order.back(), "flower");
  EXPECT_EQ(c.expand("worker"), (std::vector<std::string>{"worker@0", "worker@1", "worker@2"}));
  EXPECT_EQ(c.expand("worker@2"), std::vector<std::string>{"worker@2"});
  EXPECT_TRUE(c.expand("nope").empty());
}

TEST(ConfigInstances, ZeroInstancesIsATemplateWithoutServices) {
  Config c = load_ok("[service.w]\ncommand = [\"x\"]\ninstances = 0\n[service.a]\ncommand = [\"x\"]\nafter = [\"w\"]\n");
  ASSERT_EQ(c.services.size(), 1u);
  EXPECT_EQ(c.templates.at(0).instances, 0);
  EXPECT_EQ(c.start_order(), std::vector<std::string>{"a"});
}

TEST(ConfigInstances, ErrorsPointAtTheValue) {
  EXPECT_EQ(errors("[service.w]\ncommand = [\"x\"]\ninstances = -1\n"),
            "t.toml:3:13: 'instances' must be at least 0, not -1\n");
  EXPECT_EQ(errors("[service.w]\ncommand = [\"x\"]\ninstances = 1001\n"),
            "t.toml:3:13: 'instances' must be at most 1000, not 1001\n");
  EXPECT_EQ(errors("[defaults]\ninstances = 2\n"),
            "t.toml:2:13: 'instances' is a service's own key, not one for [defaults]\n");
  EXPECT_EQ(errors("[service.w]\ncommand = [\"x\"]\ninstances = 2\nenvironment = { INSTANCE = \"1\" }\n"),
            "t.toml:4:28: 'INSTANCE' is set by superd to the number of each instance\n");
  // A port that only some instances cannot have: said once, for the first of them.
  EXPECT_EQ(errors("[service.w]\ncommand = [\"x\"]\ninstances = 12\nlisten = [\"tcp:127.0.0.1:6553{instance}\"]\n"),
            "t.toml:4:11: invalid listen address 'tcp:127.0.0.1:65536' of w@6: the port must be a number "
            "from 1 to 65535\n");
  // A typo in the pattern is reported on the template's own text.
  EXPECT_NE(errors("[service.w]\ncommand = [\"x\"]\ninstances = 2\nready = { log = \"[{instance}\" }\n")
                .find("t.toml:4:17: invalid regular expression for 'ready.log'"),
            std::string::npos);
}

TEST(ConfigInstances, InstanceTokenWithoutInstancesIsAnError) {
  EXPECT_EQ(errors("[service.a]\ncommand = [\"x\", \"{instance}\"]\n"),
            "t.toml:2:11: '{instance}' in 'command' of service 'a', which has no 'instances'\n");
  EXPECT_EQ(errors("[service.a]\ncommand = [\"x\"]\nlisten = [\"tcp:127.0.0.1:80{instance}\"]\n"),
            "t.toml:3:11: '{instance}' in 'listen' is for a service with 'instances'\n");
  EXPECT_EQ(errors("[service.a]\ncommand = [\"x\"]\nstdout = \"a{instance}.log\"\n"),
            "t.toml:3:10: '{instance}' in 'stdout' of service 'a', which has no 'instances'\n");
}

TEST(ConfigInstances, AHostNameThatDependsOnTheInstanceIsRefused) {
  EXPECT_EQ(errors("[service.w]\ncommand = [\"x\"]\ninstances = 2\nready = { tcp = \"w{instance}.local:80\" }\n",
                   kNoLookups),
            "t.toml:4:17: the host of 'ready.tcp' must not depend on {instance}: a host name is looked up once, "
            "at load (an IP address may)\n");
  // An IP literal may.
  Config c = load_ok("[service.w]\ncommand = [\"x\"]\ninstances = 2\nready = { tcp = \"127.0.0.{instance}:80\" }\n");
  EXPECT_EQ(c.find("w@1")->ready.tcp.to_string(), "127.0.0.1:80");
}

TEST(ConfigInstances, CheckReportsWhatEveryInstanceWouldShare) {
  EXPECT_EQ(errors(R"([service.web]
command = ["x"]
instances = 2
listen = ["tcp:127.0.0.1:8000", "tcp:127.0.0.1:900{instance}"]
stdout = "web.log"
stderr = "web-{instance}.err"
)"),
            "t.toml:4:11: 'tcp:127.0.0.1:8000' would be the 'listen' socket of every instance of 'web': put "
            "{instance} in it (a port or a path of each instance's own)\n"
            "t.toml:5:10: 'web.log' would be the 'stdout' log file of every instance of 'web': put {instance} in "
            "it (or leave it out: web@N.log)\n");
  // One instance shares nothing (yet: `scale` to two says the same).
  load_ok("[service.web]\ncommand = [\"x\"]\ninstances = 1\nlisten = [\"tcp:127.0.0.1:8000\"]\nstdout = \"w.log\"\n");
}

TEST(ConfigInstances, AfterNamesAnInstanceOrAllOfThem) {
  Config c = load_ok(R"([service.w]
command = ["x"]
instances = 2
[service.a]
command = ["x"]
after = ["w@1"]
)");
  EXPECT_EQ(c.find("a")->after, std::vector<std::string>{"w@1"});
  EXPECT_EQ(errors("[service.w]\ncommand = [\"x\"]\ninstances = 2\n[service.a]\ncommand = [\"x\"]\nafter = [\"w@2\"]\n"),
            "t.toml:6:10: 'w@2' in 'after' is not an instance of 'w' (the file gives it w@0 to w@1)\n");
  EXPECT_EQ(errors("[service.w]\ncommand = [\"x\"]\ninstances = 2\nafter = [\"w\"]\n"),
            "t.toml:4:10: service 'w' is 'after' itself: its instances would wait for each other\n");
  EXPECT_EQ(errors("[service.w]\ncommand = [\"x\"]\ninstances = 2\nafter = [\"a\"]\n"
                   "[service.a]\ncommand = [\"x\"]\nafter = [\"w\"]\n"),
            "t.toml:4:10: dependency cycle: w@0 -> a -> w@0\n"
            "t.toml:4:10: dependency cycle: w@1 -> a -> w@1\n");
}

TEST(ConfigInstances, ListenOfAnInstanceAgainstAnotherService) {
  EXPECT_EQ(errors("[service.a]\ncommand = [\"x\"]\nlisten = [\"tcp:127.0.0.1:8001\"]\n"
                   "[service.w]\ncommand = [\"x\"]\ninstances = 2\nlisten = [\"tcp:127.0.0.1:800{instance}\"]\n"),
            "t.toml:7:11: 'tcp:127.0.0.1:800{instance}' is already in 'listen' of service 'a'\n");
}

// ---- at run time --------------------------------------------------------------------

TEST(WithInstances, KeepsTheInstancesThatStayAndAddsOrRemovesTheOthers) {
  Config c = load_ok(kWorker, kNoLookups);
  auto more = with_instances(c, "worker", 5);
  ASSERT_TRUE(std::holds_alternative<Config>(more));
  const Config& five = std::get<Config>(more);
  std::vector<std::string> names;
  for (const auto& s : five.services) names.push_back(s.name);
  EXPECT_EQ(names, (std::vector<std::string>{"redis", "worker@0", "worker@1", "worker@2", "worker@3", "worker@4",
                                             "flower"}));
  EXPECT_EQ(five.find("worker@4")->listen[0].to_string(), "tcp:127.0.0.1:8004");
  EXPECT_TRUE(five.find("worker@1")->same_definition(*c.find("worker@1")));

  auto fewer = with_instances(five, "worker", 0);
  ASSERT_TRUE(std::holds_alternative<Config>(fewer));
  EXPECT_EQ(std::get<Config>(fewer).services.size(), 2u);
  // Back up from none: at the template's place in the file.
  auto again = with_instances(std::get<Config>(fewer), "worker", 1);
  ASSERT_TRUE(std::holds_alternative<Config>(again));
  EXPECT_EQ(std::get<Config>(again).services.at(1).name, "worker@0");
}

TEST(WithInstances, RefusesWhatCannotRun) {
  Config c = load_ok(kWorker, kNoLookups);
  auto message = [&](const std::string& name, int n) {
    auto r = with_instances(c, name, n);
    auto* e = std::get_if<std::vector<ConfigError>>(&r);
    return e ? e->front().format() : std::string("ok");
  };
  EXPECT_EQ(message("redis", 2),
            "t.toml:4:1: service 'redis' has no 'instances': give its table 'instances = N' to run copies of it");
  EXPECT_EQ(message("nope", 2), "no service 'nope'");
  EXPECT_EQ(message("worker", 1001), "t.toml:9:13: the number of instances must be 0 to 1000, not 1001");
  EXPECT_EQ(message("worker", 11),
            "t.toml:12:11: invalid listen address 'tcp:127.0.0.1:80010' of worker@10: the port must be a number "
            "from 1 to 65535");

  Config shared = load_ok("[service.web]\ncommand = [\"x\"]\ninstances = 1\nlisten = [\"tcp:127.0.0.1:8000\"]\n");
  auto r = with_instances(shared, "web", 2);
  ASSERT_TRUE(std::holds_alternative<std::vector<ConfigError>>(r));
  EXPECT_EQ(std::get<std::vector<ConfigError>>(r).front().pos.line, 4);
}

TEST(SavedScale, HoldsWhileTheFileSaysWhatItSaidThen) {
  Config c = load_ok(kWorker, kNoLookups);
  auto scaled = with_saved_scale(c, {{"worker", {5, 3}}});
  EXPECT_EQ(scaled.config.expand("worker").size(), 5u);
  EXPECT_TRUE(scaled.forgotten.empty());
  // The file now says 4: the operator's newer word; the saved 5 is forgotten.
  c.templates[0].instances = 4;
  scaled = with_saved_scale(c, {{"worker", {5, 3}}, {"gone", {2, 1}}});
  EXPECT_EQ(scaled.config.expand("worker").size(), 3u);
  EXPECT_EQ(scaled.forgotten, (std::vector<std::string>{"gone", "worker"}));
}

TEST(InstanceText, Substitution) {
  EXPECT_EQ(substitute_instance("a{instance}b{instance}", 12), "a12b12");
  EXPECT_EQ(substitute_instance("{instanc}", 1), "{instanc}");
  EXPECT_EQ(instance_name("w", 3), "w@3");
  EXPECT_TRUE(has_instance_token("x{instance}"));
}

}  // namespace
}  // namespace superd
