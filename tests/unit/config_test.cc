// The config loader: good configs (every key lands in the model, built-in defaults, file
// order) and [defaults]. Errors, system checks and the model have files of their own.
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <csignal>

#include "tests/unit/config_test_util.h"

namespace superd {
namespace {

using namespace config_test;

// ---------------------------------------------------------------------------------------
// Good configs.

TEST(ConfigLoad, MinimalServiceGetsBuiltInDefaults) {
  Config c = load_ok("[service.app]\ncommand = [\"/bin/true\"]\n");
  EXPECT_EQ(c.path, "t.toml");
  EXPECT_EQ(c.supervisor.socket, "/run/super/super.sock");
  EXPECT_EQ(c.supervisor.socket_group, "");
  EXPECT_EQ(c.supervisor.state_dir, "/var/lib/super");
  EXPECT_EQ(c.supervisor.log_dir, "/var/log/super");
  EXPECT_EQ(c.supervisor.log_level, "info");
  ASSERT_EQ(c.services.size(), 1u);
  const ServiceConfig& s = c.services[0];
  EXPECT_EQ(s.name, "app");
  EXPECT_EQ(s.pos, (SourcePos{"t.toml", 1, 1}));
  EXPECT_EQ(s.command, std::vector<std::string>{"/bin/true"});
  EXPECT_EQ(s.directory, "");
  EXPECT_EQ(s.user, "");
  EXPECT_EQ(s.group, "");
  EXPECT_TRUE(s.environment.empty());
  EXPECT_EQ(s.umask, 022u);
  EXPECT_TRUE(s.limits.empty());
  EXPECT_TRUE(s.enabled);
  EXPECT_EQ(s.restart, RestartPolicy::always);
  EXPECT_EQ(s.start_seconds, milliseconds(1000));
  EXPECT_EQ(s.start_retries, 5);
  EXPECT_EQ(s.backoff_initial, milliseconds(100));
  EXPECT_EQ(s.backoff_max, milliseconds(30000));
  EXPECT_EQ(s.stop_signal, SIGTERM);
  EXPECT_EQ(s.stop_mode, StopMode::main);
  EXPECT_EQ(s.stop_timeout, milliseconds(30000));
  EXPECT_EQ(s.reload_signal, SIGHUP);
  EXPECT_EQ(s.ready.kind, Check::Kind::started);
  EXPECT_FALSE(s.health.has_value());
  EXPECT_TRUE(s.listen.empty());
  EXPECT_TRUE(s.after.empty());
  EXPECT_EQ(s.stdout_path, "/var/log/super/app.log");
  EXPECT_EQ(s.stderr_path, "/var/log/super/app.log");
  EXPECT_EQ(s.log_max_bytes, 50000000u);
  EXPECT_EQ(s.log_backups, 5);
}

TEST(ConfigLoad, EmptyFileIsAValidConfigWithoutServices) {
  Config c = load_ok("");
  EXPECT_TRUE(c.services.empty());
}

TEST(ConfigLoad, EveryKeyLandsInTheModel) {
  Config c = load_ok(kFull);
  EXPECT_EQ(c.supervisor.socket, "/run/test/super.sock");
  EXPECT_EQ(c.supervisor.socket_group, "daemon");
  EXPECT_EQ(c.supervisor.state_dir, "/var/lib/test");
  EXPECT_EQ(c.supervisor.log_dir, "/var/log/test/");
  EXPECT_EQ(c.supervisor.log_level, "debug");
  ASSERT_EQ(c.services.size(), 2u);

  const ServiceConfig& s = c.services[0];
  EXPECT_EQ(s.name, "app");
  EXPECT_EQ(s.pos, (SourcePos{"t.toml", 9, 1}));
  EXPECT_EQ(s.command, (std::vector<std::string>{"/bin/sleep", "1000"}));
  EXPECT_EQ(s.directory, "/tmp");
  EXPECT_EQ(s.user, "nobody");
  EXPECT_EQ(s.group, "daemon");
  EXPECT_EQ(s.environment,
            (std::map<std::string, std::string>{{"DJANGO_SETTINGS_MODULE", "server.settings"}, {"EMPTY", ""}}));
  EXPECT_EQ(s.env_file, "/etc/app.env");
  EXPECT_EQ(s.umask, 027u);
  EXPECT_EQ(s.limits, (std::map<int, rlim_t>{{RLIMIT_NOFILE, 65536}, {RLIMIT_CORE, RLIM_INFINITY}, {RLIMIT_NPROC, 0}}));
  EXPECT_FALSE(s.enabled);
  EXPECT_EQ(s.restart, RestartPolicy::on_failure);
  EXPECT_EQ(s.start_seconds, milliseconds(1500));
  EXPECT_EQ(s.start_retries, 0);
  EXPECT_EQ(s.backoff_initial, milliseconds(250));
  EXPECT_EQ(s.backoff_max, milliseconds(60000));
  EXPECT_EQ(s.stop_signal, SIGINT);
  EXPECT_EQ(s.stop_mode, StopMode::group);
  EXPECT_EQ(s.stop_timeout, milliseconds(10000));
  EXPECT_EQ(s.reload_signal, SIGUSR2);
  EXPECT_EQ(s.ready.kind, Check::Kind::http);
  EXPECT_EQ(s.ready.http.to_string(), "http://127.0.0.1:8000/ready");
  EXPECT_EQ(s.ready.http.authority.address.to_string(), "127.0.0.1");
  EXPECT_EQ(s.ready.http.target, "/ready");
  EXPECT_EQ(s.ready.timeout, milliseconds(20000));
  EXPECT_EQ(s.ready.interval, milliseconds(500));
  ASSERT_TRUE(s.health.has_value());
  EXPECT_EQ(s.health->kind, Check::Kind::tcp);
  EXPECT_EQ(s.health->tcp.to_string(), "[::1]:8000");
  EXPECT_EQ(s.health->tcp.address.family(), AF_INET6);
  EXPECT_EQ(s.health->interval, milliseconds(10000));
  EXPECT_EQ(s.health->timeout, milliseconds(2000));
  EXPECT_EQ(s.health->failures, 4);
  std::vector<std::string> listen;
  for (const auto& e : s.listen) listen.push_back(e.to_string());
  EXPECT_EQ(listen, (std::vector<std::string>{"tcp:127.0.0.1:8000", "tcp:[::]:8001", "unix:/run/app.sock"}));
  EXPECT_EQ(s.after, std::vector<std::string>{"db"});
  EXPECT_EQ(s.stdout_path, "/var/log/test/app/out.log");
  EXPECT_EQ(s.stderr_path, "/var/log/app.err");
  EXPECT_EQ(s.log_max_bytes, 1048576u);
  EXPECT_EQ(s.log_backups, 0);

  const ServiceConfig& db = c.services[1];
  EXPECT_EQ(db.command, (std::vector<std::string>{"sleep", "1"}));
  EXPECT_EQ(db.ready.kind, Check::Kind::notify);
  EXPECT_EQ(db.log_max_bytes, 4096u);
  EXPECT_EQ(db.stdout_path, "/var/log/test/db.log");
}

TEST(ConfigLoad, FullExamplePassesSystemChecks) {
  // /etc/app.env does not exist on a test machine; point it somewhere real.
  std::string text(kFull);
  text.replace(text.find("/etc/app.env"), 12, "/dev/null");
  EXPECT_EQ(errors(text, kSystem), "t.toml:15:15: env_file '/dev/null' is a device, not a regular file\n");
  text.replace(text.find("env_file"), 8, "# nv_file");
  load_ok(text, kSystem);
}

TEST(ConfigLoad, ServicesKeepFileOrderNotKeyOrder) {
  Config c = load_ok(R"(
[service.zeta]
command = ["/bin/true"]
[service.alpha]
command = ["/bin/true"]
[service]
mid = { command = ["/bin/true"] }
)");
  // Inline services defined under [service] come where their table is written.
  ASSERT_EQ(c.services.size(), 3u);
  EXPECT_EQ(c.services[0].name, "zeta");
  EXPECT_EQ(c.services[1].name, "alpha");
  EXPECT_EQ(c.services[2].name, "mid");
  EXPECT_EQ(c.services[2].pos, (SourcePos{"t.toml", 7, 7}));
}

TEST(ConfigLoad, DottedAndQuotedServiceNames) {
  Config c = load_ok("[service.\"web.1\"]\ncommand = [\"/bin/true\"]\n[service.w-2_x]\ncommand = [\"/bin/true\"]\n");
  ASSERT_EQ(c.services.size(), 2u);
  EXPECT_EQ(c.services[0].name, "web.1");
  EXPECT_EQ(c.services[1].name, "w-2_x");
}

TEST(ConfigLoad, IntegerDurationsAreSecondsAndStringsTakeUnits) {
  Config c = load_ok(R"(
[service.a]
command = ["/bin/true"]
start_seconds = 0
stop_timeout = "90"
backoff = { initial = 1, max = "2h" }
)");
  EXPECT_EQ(c.services[0].start_seconds, milliseconds(0));
  EXPECT_EQ(c.services[0].stop_timeout, milliseconds(90000));
  EXPECT_EQ(c.services[0].backoff_initial, milliseconds(1000));
  EXPECT_EQ(c.services[0].backoff_max, milliseconds(7200000));
}

TEST(ConfigLoad, SignalsAsNumbers) {
  Config c = load_ok("[service.a]\ncommand = [\"/bin/true\"]\nstop_signal = 3\nreload_signal = \"10\"\n");
  EXPECT_EQ(c.services[0].stop_signal, 3);
  EXPECT_EQ(c.services[0].reload_signal, 10);
}

TEST(ConfigLoad, ReadyKinds) {
  Config c = load_ok(R"(
[service.a]
command = ["/bin/true"]
ready = "started"
[service.b]
command = ["/bin/true"]
ready = { tcp = "127.0.0.1:5555" }
[service.c]
command = ["/bin/true"]
ready = { exec = ["/bin/true", "--probe"], interval = "2s" }
[service.d]
command = ["/bin/true"]
ready = { log = "Listening at: .*", timeout = "1m" }
health = { exec = ["/bin/true"] }
)");
  ASSERT_EQ(c.services.size(), 4u);
  EXPECT_EQ(c.services[0].ready.kind, Check::Kind::started);
  EXPECT_EQ(c.services[1].ready.kind, Check::Kind::tcp);
  EXPECT_EQ(c.services[1].ready.tcp.to_string(), "127.0.0.1:5555");
  EXPECT_EQ(c.services[1].ready.timeout, milliseconds(60000));  // built-in default
  EXPECT_EQ(c.services[2].ready.kind, Check::Kind::exec);
  EXPECT_EQ(c.services[2].ready.argv, (std::vector<std::string>{"/bin/true", "--probe"}));
  EXPECT_EQ(c.services[2].ready.interval, milliseconds(2000));
  EXPECT_EQ(c.services[3].ready.kind, Check::Kind::log);
  EXPECT_EQ(c.services[3].ready.log.source(), "Listening at: .*");
  EXPECT_TRUE(c.services[3].ready.log.search("[INFO] Listening at: http://127.0.0.1:8000"));
  EXPECT_EQ(c.services[3].ready.timeout, milliseconds(60000));
  ASSERT_TRUE(c.services[3].health.has_value());
  EXPECT_EQ(c.services[3].health->kind, Check::Kind::exec);
  EXPECT_EQ(c.services[3].health->failures, 3);
}

// ---------------------------------------------------------------------------------------
// [defaults]

TEST(ConfigDefaults, ServicesInheritAndOverride) {
  Config c = load_ok(R"(
[defaults]
user = "www"
restart = "on-failure"
stop_timeout = "5s"
environment = { LANG = "C.UTF-8", MODE = "default" }
limits = { nofile = 1024 }
backoff = { initial = "1s", max = "10s" }
stdout = "all.log"

[service.a]
command = ["/bin/true"]

[service.b]
command = ["/bin/true"]
user = "nobody"
stop_timeout = "1m"
environment = { MODE = "b", EXTRA = "1" }
limits = { core = 0 }
backoff = { max = "20s" }
stderr = "b.err"
)");
  ASSERT_EQ(c.services.size(), 2u);
  const ServiceConfig& a = c.services[0];
  EXPECT_EQ(a.user, "www");
  EXPECT_EQ(a.restart, RestartPolicy::on_failure);
  EXPECT_EQ(a.stop_timeout, milliseconds(5000));
  EXPECT_EQ(a.environment, (std::map<std::string, std::string>{{"LANG", "C.UTF-8"}, {"MODE", "default"}}));
  EXPECT_EQ(a.limits, (std::map<int, rlim_t>{{RLIMIT_NOFILE, 1024}}));
  EXPECT_EQ(a.backoff_initial, milliseconds(1000));
  EXPECT_EQ(a.backoff_max, milliseconds(10000));
  EXPECT_EQ(a.stdout_path, "/var/log/super/all.log");
  EXPECT_EQ(a.stderr_path, "/var/log/super/all.log");

  const ServiceConfig& b = c.services[1];
  EXPECT_EQ(b.user, "nobody");
  EXPECT_EQ(b.restart, RestartPolicy::on_failure);
  EXPECT_EQ(b.stop_timeout, milliseconds(60000));
  // Tables of entries merge, a service's entry winning...
  EXPECT_EQ(b.environment,
            (std::map<std::string, std::string>{{"LANG", "C.UTF-8"}, {"MODE", "b"}, {"EXTRA", "1"}}));
  EXPECT_EQ(b.limits, (std::map<int, rlim_t>{{RLIMIT_NOFILE, 1024}, {RLIMIT_CORE, 0}}));
  // ...but backoff is one value: the service's replaces it, missing keys built-in.
  EXPECT_EQ(b.backoff_initial, milliseconds(100));
  EXPECT_EQ(b.backoff_max, milliseconds(20000));
  EXPECT_EQ(b.stdout_path, "/var/log/super/all.log");
  EXPECT_EQ(b.stderr_path, "/var/log/super/b.err");
}

TEST(ConfigDefaults, CommandMayComeFromDefaults) {
  Config c = load_ok("[defaults]\ncommand = [\"/bin/true\"]\n[service.a]\n[service.b]\ncommand = [\"/bin/false\"]\n");
  EXPECT_EQ(c.services[0].command, std::vector<std::string>{"/bin/true"});
  EXPECT_EQ(c.services[1].command, std::vector<std::string>{"/bin/false"});
}

TEST(ConfigDefaults, AnErrorInDefaultsIsReportedOnceAtDefaults) {
  EXPECT_EQ(errors(R"(
[defaults]
restart = "sometimes"
comand = ["x"]

[service.a]
command = ["/bin/true"]
[service.b]
command = ["/bin/true"]
[service.c]
command = ["/bin/true"]
)"),
            "t.toml:3:11: invalid 'restart' value 'sometimes' (expected always, on-failure or never)\n"
            "t.toml:4:10: unknown key 'comand' in [defaults] (did you mean 'command'?)\n");
}

TEST(ConfigDefaults, ErrorsInDefaultsAreReportedWithoutServices) {
  EXPECT_EQ(errors("[defaults]\nstart_retries = \"5\"\n"),
            "t.toml:2:17: 'start_retries' must be an integer, not a string\n");
  EXPECT_EQ(errors("[defaults]\nuser = \"no-such-user-xyz\"\n", kSystem),
            "t.toml:2:8: unknown user 'no-such-user-xyz'\n");
}

TEST(ConfigDefaults, SystemErrorFromDefaultsIsReportedOnce) {
  EXPECT_EQ(errors(R"(
[defaults]
directory = "/no/such/dir"
[service.a]
command = ["/bin/true"]
[service.b]
command = ["/bin/true"]
)",
                   kSystem),
            "t.toml:3:13: directory '/no/such/dir' does not exist\n");
}

TEST(ConfigDefaults, ServiceOverrideHidesABadDefaultFromSystemChecks) {
  // The service's own directory is what it runs in; only [defaults] is wrong, once.
  EXPECT_EQ(errors("[defaults]\ndirectory = \"/no/such/dir\"\n[service.a]\ncommand = [\"/bin/true\"]\n"
                   "directory = \"/tmp\"\n",
                   kSystem),
            "t.toml:2:13: directory '/no/such/dir' does not exist\n");
}

}  // namespace
}  // namespace superd
