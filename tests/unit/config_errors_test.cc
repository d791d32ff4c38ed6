// The config loader's typing errors: each names the key, the value and what was
// expected, at the position of the offending node, all of them in file order.
#include <gtest/gtest.h>

#include "tests/unit/config_test_util.h"

namespace superd {
namespace {

using namespace config_test;

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
ready = { tcp = "local host:8", failures = 2, interval = 0 }
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
            "t.toml:11:17: invalid address 'local host:8' for 'ready.tcp': the host must be an IPv4 address, an "
            "[IPv6] address or a host name\n"
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

}  // namespace
}  // namespace superd
