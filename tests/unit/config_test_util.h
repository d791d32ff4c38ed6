// Shared by the config loader's unit tests (config_*_test.cc): loading a text, its
// errors one formatted line each, and a config that uses every key.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "supervisor/config.h"
#include "supervisor/config_load.h"

namespace superd::config_test {

using std::chrono::milliseconds;


using std::chrono::milliseconds;

inline const LoadOptions kNoSystem{.check_system = false};
inline const LoadOptions kSystem{.check_system = true};

inline LoadResult load(std::string_view text, const LoadOptions& options = kNoSystem) {
  return load_config_string(text, "t.toml", options);
}

// All errors, one formatted line each.
inline std::string errors(std::string_view text, const LoadOptions& options = kNoSystem) {
  std::string out;
  for (const auto& e : load(text, options).errors) out += e.format() + "\n";
  return out;
}

inline Config load_ok(std::string_view text, const LoadOptions& options = kNoSystem) {
  LoadResult r = load(text, options);
  for (const auto& e : r.errors) ADD_FAILURE() << e.format();
  EXPECT_TRUE(r.config.has_value());
  return r.config.value_or(Config{});
}

// Every key of a service, each with a value other than its default.
inline constexpr std::string_view kFull = R"(
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

}  // namespace superd::config_test
