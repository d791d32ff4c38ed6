// Instances: N services NAME@0 .. NAME@N-1 made from one table with `instances = N`.
//
// The loader types a table with `instances` once, as a template (config.h
// ServiceTemplate), and makes each instance from it here: "{instance}" becomes the
// number in `command`, `environment` values, `env_file`, `stdout`, `stderr`, `listen`,
// the ready and health targets (tcp, http, log, exec), and the typed values are parsed
// again from the substituted text. No name is looked up: a host name in a check target
// cannot depend on the instance (the loader says so), so every instance reuses the
// address resolved at load. superd sets INSTANCE in each instance's environment.
//
// The same functions serve `superctl scale` and the reload of a changed `instances` at
// run time, where nothing may block: everything here is pure.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "supervisor/config.h"

namespace superd {

inline constexpr std::string_view kInstanceToken = "{instance}";
// `listen` takes IP literals only, as systemd's ListenStream= does: a name can stand for
// several addresses, and which one a socket binds should not depend on the resolver
// ("tcp:localhost:8000" is refused, see tests/configs/bad/bad_listen.toml). Checks take
// names. HostNames::allowed here would let listen take them too (resolved at load).
inline constexpr HostNames kListenHostNames = HostNames::refused;
// More would be a fork bomb of our own: each instance holds pipes, timers and sockets.
inline constexpr int kMaxInstances = 1000;

bool has_instance_token(std::string_view text);
std::string substitute_instance(std::string_view text, int instance);
std::string instance_name(const std::string& template_name, int instance);  // "worker@2"

// Instance `k` of `t`, or the error (at the position of the value that is wrong for this
// number, say a port past 65535).
std::variant<ServiceConfig, ConfigError> instantiate(const ServiceTemplate& t, int k);

// What would be one file or one socket for every instance: a `listen` entry, `stdout` or
// `stderr` without "{instance}". Only a problem with two instances or more.
std::vector<ConfigError> instance_collisions(const ServiceTemplate& t);

// `config` with template `name` at `n` instances: the instances below both counts are
// kept as they are (not even re-made from the template), the others added or removed.
// Errors: no such template, n out of range, collisions, an instance that cannot be made,
// a `listen` socket another service holds.
std::variant<Config, std::vector<ConfigError>> with_instances(const Config& config,
                                                              const std::string& name, int n);

// A `superctl scale` remembered in state_dir: the count, and what the file said when the
// operator chose it. The choice holds while the file still says that; once the file
// says something else, that newer decision wins and the saved one is forgotten.
struct SavedScale {
  int instances = 0;
  int configured = 0;
  bool operator==(const SavedScale&) const = default;
};
struct ScaledConfig {
  Config config;
  std::vector<std::string> forgotten;  // saved counts the file has overruled since
  std::vector<std::string> problems;   // saved counts that cannot be applied, and why
};
ScaledConfig with_saved_scale(Config loaded, const std::map<std::string, SavedScale>& saved);

}  // namespace superd
