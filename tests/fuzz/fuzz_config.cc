// Fuzzes the config loader and validator (supervisor/config_load.h) on arbitrary text as
// super.toml: TOML syntax (toml++, the Debian shared library superd links), typing of
// every key, [defaults], and the whole-config checks (after, cycles, listen conflicts).
// Each input is loaded twice: with check_system=false (pure), then with
// check_system=true, which only reads: user and group lookups, stat/access of command,
// directory and exec probe paths, and reading regular env files of at most 16 MiB.
// Host names are never resolved (resolve_hosts=false): random names must not reach DNS.
//
// Oracles besides the sanitizers and "never throws":
//  - a config comes back exactly when there is no error, and every error has a message
//    and a position in the file it was given;
//  - a loaded config is internally consistent: unique names, a start order that is a
//    permutation of the services respecting `after`, values within their documented
//    ranges, durations that survive format_duration -> parse_duration, typed targets
//    that print back to text which parses to the same value.
#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <string_view>

#include "supervisor/config_load.h"
#include "base/values.h"
#include "tests/fuzz/fuzz_common.h"

using namespace superd;

namespace {

constexpr const char* kPath = "/fuzz/super.toml";
constexpr Duration kTenYears = std::chrono::hours(24 * 365 * 10);

void check_duration(Duration d) {
  FUZZ_CHECK(d.count() >= 0);
  FUZZ_CHECK(d <= kTenYears);
  std::string error;
  auto back = parse_duration(format_duration(d), &error);
  FUZZ_CHECK(back && *back == d);
}

void check_check(const Check& c) {
  std::string error;
  switch (c.kind) {
    case Check::Kind::tcp: {
      auto again = parse_host_port(c.tcp.to_string(), HostNames::allowed, &error);
      FUZZ_CHECK(again && again->host == c.tcp.host && again->port == c.tcp.port);
      FUZZ_CHECK(c.tcp.is_name() == c.tcp.address.empty());
      break;
    }
    case Check::Kind::http: {
      auto again = parse_http_url(c.http.to_string(), &error);
      FUZZ_CHECK(again && again->authority.host == c.http.authority.host && again->target == c.http.target);
      FUZZ_CHECK(!c.http.target.empty() && c.http.target.front() == '/');
      break;
    }
    case Check::Kind::log:
      FUZZ_CHECK(c.log.compiled() && !c.log.source().empty());
      break;
    case Check::Kind::exec:
      FUZZ_CHECK(!c.argv.empty() && !c.argv.front().empty());
      break;
    case Check::Kind::started:
    case Check::Kind::notify:
      break;
  }
}

void check_loaded(const Config& config) {
  std::set<std::string> names;
  for (const ServiceConfig& s : config.services) {
    FUZZ_CHECK(!s.name.empty());
    FUZZ_CHECK(names.insert(s.name).second);
    FUZZ_CHECK(!s.command.empty());
    FUZZ_CHECK(s.same_definition(s));
    FUZZ_CHECK(s.umask <= 0777);
    FUZZ_CHECK(s.stop_signal >= 1 && s.stop_signal <= 64);
    FUZZ_CHECK(s.reload_signal >= 1 && s.reload_signal <= 64);
    FUZZ_CHECK(s.start_retries >= 0);
    FUZZ_CHECK(s.log_backups >= 0);
    FUZZ_CHECK(s.backoff_initial <= s.backoff_max);
    for (Duration d : {s.start_seconds, s.backoff_initial, s.backoff_max, s.stop_timeout,
                       s.ready.timeout, s.ready.interval}) {
      check_duration(d);
    }
    check_check(s.ready);
    if (s.health) {
      check_duration(s.health->timeout);
      check_duration(s.health->interval);
      check_check(*s.health);
    }
    for (const ListenEndpoint& e : s.listen) {
      std::string error;
      auto again = parse_listen_endpoint(e.to_string(), HostNames::refused, &error);
      FUZZ_CHECK(again && *again == e);
    }
    FUZZ_CHECK(!s.stdout_path.empty() && s.stdout_path.front() == '/');
    FUZZ_CHECK(!s.stderr_path.empty() && s.stderr_path.front() == '/');
  }
  const std::vector<std::string> order = config.start_order();
  FUZZ_CHECK(order.size() == config.services.size());
  std::map<std::string, size_t> position;
  for (size_t i = 0; i < order.size(); ++i) position[order[i]] = i;
  FUZZ_CHECK(position.size() == names.size());
  for (const ServiceConfig& s : config.services) {
    for (const std::string& dep : s.after) {
      FUZZ_CHECK(position.count(dep));  // unknown names are errors
      FUZZ_CHECK(position[dep] < position[s.name]);
    }
    FUZZ_CHECK(config.find(s.name) != nullptr);
  }
}

void check(const LoadResult& result) {
  FUZZ_CHECK(result.config.has_value() == result.errors.empty());
  for (const ConfigError& e : result.errors) {
    FUZZ_CHECK(!e.message.empty());
    FUZZ_CHECK(e.pos.line >= 0 && e.pos.col >= 0);
    FUZZ_CHECK(!e.format().empty());
  }
  if (result.config) check_loaded(*result.config);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  check(load_config_string(text, kPath, LoadOptions{.check_system = false, .resolve_hosts = false}));
  check(load_config_string(text, kPath, LoadOptions{.check_system = true, .resolve_hosts = false}));
  return 0;
}
