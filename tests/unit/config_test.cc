// The config loader and model: typing of every key, [defaults], positions of errors,
// system checks, whole-config checks (after, cycles), start order and reload comparison.
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <fstream>
#include <random>

#include "supervisor/config.h"
#include "supervisor/config_load.h"

namespace superd {
namespace {

using std::chrono::milliseconds;

constexpr LoadOptions kNoSystem{.check_system = false};
constexpr LoadOptions kSystem{.check_system = true};

LoadResult load(std::string_view text, const LoadOptions& options = kNoSystem) {
  return load_config_string(text, "t.toml", options);
}

// All errors, one formatted line each.
std::string errors(std::string_view text, const LoadOptions& options = kNoSystem) {
  std::string out;
  for (const auto& e : load(text, options).errors) out += e.format() + "\n";
  return out;
}

Config load_ok(std::string_view text, const LoadOptions& options = kNoSystem) {
  LoadResult r = load(text, options);
  for (const auto& e : r.errors) ADD_FAILURE() << e.format();
  EXPECT_TRUE(r.config.has_value());
  return r.config.value_or(Config{});
}

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

constexpr std::string_view kFull = R"(
[supervisor]
socket       = "/run/test/super.sock"
socket_group = "daemon"
state_dir    = "/var/lib/test"
log_dir      = "/var/log/test/"
log_level    = "debug"

[service.app]
command     = ["/bin/sleep", "1000"]
directory   = "/tmp"
user        = "nobody"
group       = "daemon"
environment = { DJANGO_SETTINGS_MODULE = "server.settings", EMPTY = "" }
env_file    = "/etc/app.env"
umask       = "027"
limits      = { nofile = 65536, core = "infinity", NPROC = 0 }
enabled     = false
restart     = "on-failure"
start_seconds = "1.5s"
start_retries = 0
backoff     = { initial = "250ms", max = "1m" }
stop_signal = "SIGINT"
stop_mode   = "group"
stop_timeout = 10
reload_signal = "usr2"
ready       = { http = "http://127.0.0.1:8000/ready", timeout = "20s", interval = "500ms" }
health      = { tcp = "[::1]:8000", interval = "10s", failures = 4, timeout = "2s" }
listen      = ["tcp:127.0.0.1:8000", "tcp:[::]:8001", "unix:/run/app.sock"]
after       = ["db"]
stdout      = "app/out.log"
stderr      = "/var/log/app.err"
log_max_bytes = "1MiB"
log_backups = 0

[service.db]
command = ["sleep", "1"]
ready = "notify"
log_max_bytes = 4096
)";

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
  EXPECT_EQ(s.ready.target, "http://127.0.0.1:8000/ready");
  EXPECT_EQ(s.ready.timeout, milliseconds(20000));
  EXPECT_EQ(s.ready.interval, milliseconds(500));
  ASSERT_TRUE(s.health.has_value());
  EXPECT_EQ(s.health->kind, Check::Kind::tcp);
  EXPECT_EQ(s.health->target, "[::1]:8000");
  EXPECT_EQ(s.health->interval, milliseconds(10000));
  EXPECT_EQ(s.health->timeout, milliseconds(2000));
  EXPECT_EQ(s.health->failures, 4);
  EXPECT_EQ(s.listen, (std::vector<std::string>{"tcp:127.0.0.1:8000", "tcp:[::]:8001", "unix:/run/app.sock"}));
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
  EXPECT_EQ(errors(text, kSystem), "t.toml:15:15: env_file '/dev/null' is not a regular file\n");
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
  EXPECT_EQ(c.services[1].ready.target, "127.0.0.1:5555");
  EXPECT_EQ(c.services[1].ready.timeout, milliseconds(60000));  // built-in default
  EXPECT_EQ(c.services[2].ready.kind, Check::Kind::exec);
  EXPECT_EQ(c.services[2].ready.argv, (std::vector<std::string>{"/bin/true", "--probe"}));
  EXPECT_EQ(c.services[2].ready.interval, milliseconds(2000));
  EXPECT_EQ(c.services[3].ready.kind, Check::Kind::log);
  EXPECT_EQ(c.services[3].ready.target, "Listening at: .*");
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

// ---------------------------------------------------------------------------------------
// Errors: typing.

TEST(ConfigErrors, WrongTypesNameTheKeyAndBothTypes) {
  EXPECT_EQ(errors(R"([service.a]
command = "/bin/true"
directory = 5
enabled = "yes"
start_retries = "3"
start_seconds = 1.5
log_max_bytes = true
stop_signal = [15]
after = "db"
environment = "A=1"
ready = 5
health = "started"
user = 1000
)"),
            "t.toml:2:11: 'command' must be an array of strings, not a string\n"
            "t.toml:3:13: 'directory' must be a string, not an integer\n"
            "t.toml:4:11: 'enabled' must be a boolean, not a string\n"
            "t.toml:5:17: 'start_retries' must be an integer, not a string\n"
            "t.toml:6:17: 'start_seconds' must be a duration (a string like \"30s\" or integer seconds), not a float\n"
            "t.toml:7:17: 'log_max_bytes' must be a size (a string like \"50MB\" or integer bytes), not a boolean\n"
            "t.toml:8:15: 'stop_signal' must be a signal name or number, not an array\n"
            "t.toml:9:9: 'after' must be an array of strings, not a string\n"
            "t.toml:10:15: 'environment' must be a table, not a string\n"
            "t.toml:11:9: 'ready' must be \"started\", \"notify\" or a table like { tcp = \"127.0.0.1:8000\" }, not an "
            "integer\n"
            "t.toml:12:10: 'health' must be a table like { tcp = \"127.0.0.1:8000\" }, not a string\n"
            "t.toml:13:8: 'user' must be a string, not an integer\n");
}

TEST(ConfigErrors, ArrayElementsArePointedAt) {
  EXPECT_EQ(errors("[service.a]\ncommand = [\"/bin/true\", 5, \"x\"]\n"),
            "t.toml:2:25: 'command' must be an array of strings, but this is an integer\n");
}

TEST(ConfigErrors, CommandShape) {
  EXPECT_EQ(errors("[service.a]\ncommand = []\n"), "t.toml:2:11: 'command' must not be empty\n");
  EXPECT_EQ(errors("[service.a]\ncommand = [\"\"]\n"), "t.toml:2:12: 'command' starts with an empty program name\n");
  EXPECT_EQ(errors("[service.a]\ncommand = [\"bin/app\"]\n"),
            "t.toml:2:12: program 'bin/app' must be an absolute path or a bare name looked up in PATH\n");
  EXPECT_EQ(errors("[service.a]\nuser = \"nobody\"\n"), "t.toml:1:1: service 'a' has no 'command'\n");
}

TEST(ConfigErrors, BadValues) {
  EXPECT_EQ(errors(R"([service.a]
command = ["/bin/true"]
restart = "sometimes"
stop_mode = "all"
stop_signal = "TERMINATE"
reload_signal = 65
umask = "0999"
start_seconds = "5 sec"
stop_timeout = -1
log_max_bytes = "10 XB"
log_backups = -2
start_retries = 2147483648
limits = { nofiles = 1, nproc = -1, core = "lots", as = 1.5 }
)"),
            "t.toml:3:11: invalid 'restart' value 'sometimes' (expected always, on-failure or never)\n"
            "t.toml:4:13: invalid 'stop_mode' value 'all' (expected main or group)\n"
            "t.toml:5:15: invalid signal 'TERMINATE' for 'stop_signal': unknown signal\n"
            "t.toml:6:17: invalid signal 65 for 'reload_signal': signal numbers are 1 to 64\n"
            "t.toml:7:9: invalid umask '0999': expected octal digits\n"
            "t.toml:8:17: invalid duration '5 sec' for 'start_seconds': unknown unit 'sec' (use ms, s, m or h)\n"
            "t.toml:9:16: 'stop_timeout' must not be negative\n"
            "t.toml:10:17: invalid size '10 XB' for 'log_max_bytes': unknown unit 'XB' (use B, KB, MB, GB, KiB, MiB "
            "or GiB)\n"
            "t.toml:11:15: 'log_backups' must be at least 0, not -2\n"
            "t.toml:12:17: 'start_retries' must be at most 2147483647, not 2147483648\n"
            "t.toml:13:22: unknown limit 'nofiles' (did you mean 'nofile'?)\n"
            "t.toml:13:33: 'limits.nproc' must be at least 0, not -1\n"
            "t.toml:13:44: invalid 'limits.core' value 'lots' (expected an integer or \"infinity\")\n"
            "t.toml:13:57: 'limits.as' must be an integer or \"infinity\", not a float\n");
}

TEST(ConfigErrors, HugeNumbersDoNotOverflow) {
  EXPECT_EQ(errors("[service.a]\ncommand = [\"/bin/true\"]\nstop_timeout = 9223372036854775807\n"
                   "start_seconds = \"9223372036854775807s\"\nbackoff = { max = \"100000h\" }\n"
                   "log_max_bytes = \"99999999999999GB\"\n"),
            "t.toml:3:16: 'stop_timeout' is longer than the maximum of 87600h\n"
            "t.toml:4:17: invalid duration '9223372036854775807s' for 'start_seconds': too large\n"
            "t.toml:5:19: 'backoff.max' is longer than the maximum of 87600h\n"
            "t.toml:6:17: invalid size '99999999999999GB' for 'log_max_bytes': too large\n");
  Config c = load_ok("[service.a]\ncommand = [\"/bin/true\"]\nstop_timeout = 315360000\n");
  EXPECT_EQ(c.services[0].stop_timeout, std::chrono::hours(87600));
}

TEST(ConfigErrors, UmaskMustBeAString) {
  EXPECT_EQ(errors("[service.a]\ncommand = [\"/bin/true\"]\numask = 0o22\n"),
            "t.toml:3:9: 'umask' must be a string of octal digits like \"022\", not an integer\n");
}

TEST(ConfigErrors, Backoff) {
  EXPECT_EQ(errors("[service.a]\ncommand = [\"/bin/true\"]\nbackoff = { initial = \"1m\", max = \"30s\" }\n"),
            "t.toml:3:23: 'backoff.initial' (1m) is greater than 'backoff.max' (30s)\n");
  // Only initial given: compared with the built-in max.
  EXPECT_EQ(errors("[service.a]\ncommand = [\"/bin/true\"]\nbackoff = { initial = \"1h\" }\n"),
            "t.toml:3:23: 'backoff.initial' (1h) is greater than 'backoff.max' (30s)\n");
  EXPECT_EQ(errors("[service.a]\ncommand = [\"/bin/true\"]\nbackoff = { initial = \"1s\", maxx = \"2s\" }\n"),
            "t.toml:3:36: unknown key 'maxx' in 'backoff' (did you mean 'max'?)\n");
  EXPECT_EQ(errors("[service.a]\ncommand = [\"/bin/true\"]\nbackoff = \"1s\"\n"),
            "t.toml:3:11: 'backoff' must be a table, not a string\n");
}

TEST(ConfigErrors, ReadyAndHealth) {
  EXPECT_EQ(errors(R"([service.a]
command = ["/bin/true"]
ready = "alive"
health = { http = "https://x/", failures = 0 }
[service.b]
command = ["/bin/true"]
ready = { tcp = "127.0.0.1:80", log = "x" }
health = { interval = "1s" }
[service.c]
command = ["/bin/true"]
ready = { tcp = "localhost:80", failures = 2, interval = 0 }
health = { log = "(unclosed", every = "1s" }
[service.d]
command = ["/bin/true"]
ready = { exec = [], http = 5 }
health = { http = "http:///path" }
)"),
            "t.toml:3:9: invalid 'ready' value 'alive' (expected started or notify)\n"
            "t.toml:4:19: invalid URL 'https://x/' for 'health.http': only http:// URLs are supported\n"
            "t.toml:4:44: 'health.failures' must be at least 1, not 0\n"
            "t.toml:7:39: 'ready' has both 'tcp' and 'log'; a check has exactly one kind\n"
            "t.toml:8:10: 'health' needs one of 'tcp', 'http', 'exec' or 'log'\n"
            "t.toml:11:17: invalid address 'localhost:80' for 'ready.tcp': the host must be an IPv4 address or an "
            "[IPv6] address\n"
            "t.toml:11:44: unknown key 'failures' in 'ready'\n"
            "t.toml:11:58: 'ready.interval' must be greater than zero\n"
            "t.toml:12:18: invalid regular expression for 'health.log': Mismatched '(' and ')' in regular "
            "expression\n"
            "t.toml:12:39: unknown key 'every' in 'health'\n"
            "t.toml:15:18: 'ready.exec' must name a program\n"
            "t.toml:15:29: 'ready' has both 'exec' and 'http'; a check has exactly one kind\n"
            "t.toml:16:19: invalid URL 'http:///path' for 'health.http': the URL has no host\n");
}

TEST(ConfigErrors, Listen) {
  EXPECT_EQ(errors(R"([service.a]
command = ["/bin/true"]
listen = ["127.0.0.1:80", "tcp:127.0.0.1", "tcp:127.0.0.1:0", "tcp:127.0.0.1:65536", "tcp:1.2.3:80",
          "tcp:[::1:80", "tcp:[::g]:80", "unix:run/x.sock", "tcp:host:80", "tcp:127.0.0.1:+80", 7]
)"),
            "t.toml:3:11: invalid listen address '127.0.0.1:80': expected tcp:HOST:PORT or unix:/PATH\n"
            "t.toml:3:27: invalid listen address 'tcp:127.0.0.1': expected HOST:PORT\n"
            "t.toml:3:44: invalid listen address 'tcp:127.0.0.1:0': the port must be a number from 1 to 65535\n"
            "t.toml:3:63: invalid listen address 'tcp:127.0.0.1:65536': the port must be a number from 1 to 65535\n"
            "t.toml:3:86: invalid listen address 'tcp:1.2.3:80': the host must be an IPv4 address or an [IPv6] "
            "address\n"
            "t.toml:4:11: invalid listen address 'tcp:[::1:80': expected [IPv6]:PORT\n"
            "t.toml:4:26: invalid listen address 'tcp:[::g]:80': '::g' is not an IPv6 address\n"
            "t.toml:4:42: invalid listen address 'unix:run/x.sock': the socket path must be absolute\n"
            "t.toml:4:61: invalid listen address 'tcp:host:80': the host must be an IPv4 address or an [IPv6] "
            "address\n"
            "t.toml:4:76: invalid listen address 'tcp:127.0.0.1:+80': the port must be a number from 1 to 65535\n"
            "t.toml:4:97: 'listen' must be an array of strings, but this is an integer\n");
  std::string long_path(200, 'x');
  EXPECT_EQ(errors("[service.a]\ncommand = [\"/bin/true\"]\nlisten = [\"unix:/" + long_path + "\"]\n"),
            "t.toml:3:11: invalid listen address 'unix:/" + long_path.substr(0, 74) +
                "...': the socket path is longer than 107 bytes\n");
}

TEST(ConfigErrors, ListenSocketsBelongToOneService) {
  EXPECT_EQ(errors(R"([service.a]
command = ["/bin/true"]
listen = ["tcp:127.0.0.1:8000"]
[service.b]
command = ["/bin/true"]
listen = ["unix:/run/b.sock", "tcp:127.0.0.1:8000"]
)"),
            "t.toml:6:31: 'tcp:127.0.0.1:8000' is already in 'listen' of service 'a'\n");
}

TEST(ConfigErrors, UnknownKeysAndTables) {
  EXPECT_EQ(errors(R"(
verbose = true
[supervisor]
socket = "/run/s.sock"
log_levle = "debug"
[deafults]
user = "x"
[service.a]
command = ["/bin/true"]
comand = ["/bin/true"]
xyzzy = 1
)"),
            "t.toml:2:11: unknown key 'verbose'\n"
            "t.toml:5:13: unknown key 'log_levle' in [supervisor] (did you mean 'log_level'?)\n"
            "t.toml:6:1: unknown table 'deafults' (did you mean 'defaults'?)\n"
            "t.toml:10:10: unknown key 'comand' in service 'a' (did you mean 'command'?)\n"
            "t.toml:11:9: unknown key 'xyzzy' in service 'a'\n");
}

TEST(ConfigErrors, SectionsOfTheWrongType) {
  EXPECT_EQ(errors("supervisor = 1\ndefaults = \"x\"\nservice = []\n"),
            "t.toml:1:14: 'supervisor' must be a table, not an integer\n"
            "t.toml:2:12: 'defaults' must be a table, not a string\n"
            "t.toml:3:11: 'service' must be a table, not an array\n");
  EXPECT_EQ(errors("[service]\napp = \"/bin/true\"\n"), "t.toml:2:7: service 'app' must be a table, not a string\n");
}

TEST(ConfigErrors, NestedTableInAService) {
  EXPECT_EQ(errors("[service.a]\ncommand = [\"/bin/true\"]\n[service.a.b]\nx = 1\n"),
            "t.toml:3:1: unknown key 'b' in service 'a'\n");
}

TEST(ConfigErrors, Supervisor) {
  EXPECT_EQ(errors("[supervisor]\nsocket = \"run/s.sock\"\nstate_dir = \"var\"\nlog_dir = 5\nlog_level = \"verbose\"\n"
                   "socket_group = 0\n"),
            "t.toml:2:10: 'socket' must be an absolute path, not 'run/s.sock'\n"
            "t.toml:3:13: 'state_dir' must be an absolute path, not 'var'\n"
            "t.toml:4:11: 'log_dir' must be a string, not an integer\n"
            "t.toml:5:13: invalid 'log_level' value 'verbose' (expected trace, debug, info, warn, error, critical or "
            "off)\n"
            "t.toml:6:16: 'socket_group' must be a string, not an integer\n");
  EXPECT_EQ(errors("[supervisor]\nsocket = \"/" + std::string(120, 's') + "\"\n"),
            "t.toml:2:10: 'socket' is longer than the 107 bytes a Unix socket path can have\n");
}

TEST(ConfigErrors, ServiceNames) {
  EXPECT_EQ(errors(R"([service.all]
command = ["/bin/true"]
[service."my app"]
command = ["/bin/true"]
[service.-x]
command = ["/bin/true"]
[service.""]
command = ["/bin/true"]
[service."..")]
)"),
            "t.toml:9:14: Error while parsing table header: expected ']', saw ')'\n");
  std::string long_name(65, 'n');
  EXPECT_EQ(errors(R"([service.all]
command = ["/bin/true"]
[service."my app"]
command = ["/bin/true"]
[service.-x]
command = ["/bin/true"]
[service.""]
command = ["/bin/true"]
[service.".."]
command = ["/bin/true"]
[service.)" + long_name + R"(]
command = ["/bin/true"]
[service.)" + long_name.substr(1) + R"(]
command = ["/bin/true"]
)"),
            "t.toml:1:1: service name 'all' is reserved (superctl uses it for every service)\n"
            "t.toml:3:1: invalid service name 'my app' (use up to 64 letters, digits, '_', '.' or '-', starting "
            "with a letter, digit or '_')\n"
            "t.toml:5:1: invalid service name '-x' (use up to 64 letters, digits, '_', '.' or '-', starting with a "
            "letter, digit or '_')\n"
            "t.toml:7:1: invalid service name '' (use up to 64 letters, digits, '_', '.' or '-', starting with a "
            "letter, digit or '_')\n"
            "t.toml:9:1: invalid service name '..' (use up to 64 letters, digits, '_', '.' or '-', starting with a "
            "letter, digit or '_')\n"
            "t.toml:11:1: invalid service name '" +
                long_name +
                "' (use up to 64 letters, digits, '_', '.' or '-', starting with a letter, digit or '_')\n");
}

TEST(ConfigErrors, EnvironmentNamesAndNulCharacters) {
  EXPECT_EQ(errors("[service.a]\ncommand = [\"/bin/true\", \"a\\u0000b\"]\n"
                   "environment = { \"A=B\" = \"x\", \"1X\" = \"y\", OK = \"\\u0000\" }\n"),
            "t.toml:2:25: 'command' must not contain a NUL character\n"
            "t.toml:3:25: invalid environment variable name 'A=B' (use letters, digits and '_', not starting with "
            "a digit)\n"
            "t.toml:3:37: invalid environment variable name '1X' (use letters, digits and '_', not starting with a "
            "digit)\n"
            "t.toml:3:47: 'environment.OK' must not contain a NUL character\n");
}

TEST(ConfigErrors, PathsMustBeAbsoluteAndNamesNonEmpty) {
  EXPECT_EQ(errors("[service.a]\ncommand = [\"/bin/true\"]\ndirectory = \"srv\"\nenv_file = \".env\"\nuser = \"\"\n"
                   "group = \"\"\nstdout = \"\"\nstderr = \"\"\n"),
            "t.toml:3:13: 'directory' must be an absolute path, not 'srv'\n"
            "t.toml:4:12: 'env_file' must be an absolute path, not '.env'\n"
            "t.toml:5:8: 'user' must not be empty\n"
            "t.toml:6:9: 'group' must not be empty\n"
            "t.toml:7:10: 'stdout' must not be empty\n"
            "t.toml:8:10: 'stderr' must not be empty\n");
}

TEST(ConfigErrors, ControlCharactersInMessagesAreEscaped) {
  EXPECT_EQ(errors("[service.a]\ncommand = [\"/bin/true\"]\nrestart = \"\\u001b[31m\"\n"),
            "t.toml:3:11: invalid 'restart' value '\\x1b[31m' (expected always, on-failure or never)\n");
}

TEST(ConfigErrors, SyntaxErrorIsOneErrorWithItsPosition) {
  LoadResult r = load("[service.a]\ncommand = [\"/bin/true\"\n");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_FALSE(r.config.has_value());
  EXPECT_EQ(r.errors[0].pos.file, "t.toml");
  EXPECT_EQ(r.errors[0].format(), "t.toml:2:24: Error while parsing array: encountered end-of-file");
}

TEST(ConfigErrors, DuplicateServiceIsNamed) {
  EXPECT_EQ(errors("[service.a]\ncommand = [\"/bin/true\"]\n\n[service.a]\ncommand = [\"/bin/true\"]\n"),
            "t.toml:4:1: duplicate service 'a' (a [service.a] table is already defined above)\n");
  EXPECT_EQ(errors("[defaults]\n[defaults]\n"),
            "t.toml:2:1: Error while parsing table header: cannot redefine existing table 'defaults'\n");
}

TEST(ConfigErrors, AllErrorsInFileOrderAndNoConfig) {
  LoadResult r = load(R"([service.b]
command = ["/bin/true"]
after = ["nope"]
[service.a]
command = 5
[supervisor]
log_level = "loud"
)");
  EXPECT_FALSE(r.config.has_value());
  ASSERT_EQ(r.errors.size(), 3u);
  EXPECT_EQ(r.errors[0].pos.line, 3);
  EXPECT_EQ(r.errors[1].pos.line, 5);
  EXPECT_EQ(r.errors[2].pos.line, 7);
}

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
  EXPECT_TRUE(differs([](ServiceConfig& s) { s.ready.target += "x"; }));
  EXPECT_TRUE(differs([](ServiceConfig& s) { s.health.reset(); }));
  EXPECT_TRUE(differs([](ServiceConfig& s) { s.health->failures += 1; }));
  EXPECT_TRUE(differs([](ServiceConfig& s) { s.listen.pop_back(); }));
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

// ---------------------------------------------------------------------------------------
// Robustness: the loader is fuzzed later; a cheap in-process mutation run catches the
// obvious (exceptions, crashes on odd types) now.

TEST(ConfigRobustness, MutatedConfigsNeverThrow) {
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
    ASSERT_NO_THROW(r = load_config_string(text, "fuzz.toml", kSystem)) << text;
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
