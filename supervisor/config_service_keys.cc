// Pass 1, the keys of a service (and of [defaults]): the table of keys, and for each its
// reader into ServiceConfig. ready, health and listen, the keys with typed targets, are
// in config_checks.cc.
#include "base/env_file.h"
#include "base/values.h"
#include "supervisor/config_instances.h"
#include "supervisor/config_loader.h"
#include "supervisor/config_resources_load.h"
#include "supervisor/config_sandbox_load.h"

namespace superd::config_internal {
namespace {

bool is_env_name(std::string_view name) {
  if (name.empty() || (name.front() >= '0' && name.front() <= '9')) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  });
}

}  // namespace

const Loader::ServiceKey Loader::kServiceKeys[] = {
    {"command", &Loader::key_command},
    {"directory", &Loader::key_directory},
    {"user", &Loader::key_user},
    {"group", &Loader::key_group},
    {"environment", &Loader::key_environment},
    {"env_file", &Loader::key_env_file},
    {"umask", &Loader::key_umask},
    {"limits", &Loader::key_limits},
    {"enabled", &Loader::key_enabled},
    {"restart", &Loader::key_restart},
    {"start_seconds", &Loader::key_start_seconds},
    {"start_retries", &Loader::key_start_retries},
    {"backoff", &Loader::key_backoff},
    {"stop_signal", &Loader::key_stop_signal},
    {"stop_mode", &Loader::key_stop_mode},
    {"stop_timeout", &Loader::key_stop_timeout},
    {"reload_signal", &Loader::key_reload_signal},
    {"ready", &Loader::key_ready},
    {"health", &Loader::key_health},
    {"listen", &Loader::key_listen},
    {"after", &Loader::key_after},
    {"stdout", &Loader::key_stdout},
    {"stderr", &Loader::key_stderr},
    {"log_max_bytes", &Loader::key_log_max_bytes},
    {"log_backups", &Loader::key_log_backups},
    {"log_timestamps", &Loader::key_log_timestamps},
    {"critical", &Loader::key_critical},
    {"resources", &Loader::key_resources},
    {"instances", &Loader::key_instances},
    {"sandbox", &Loader::key_sandbox},
};


std::vector<std::string_view> Loader::service_key_names() {
  std::vector<std::string_view> names;
  for (const auto& k : kServiceKeys) names.push_back(k.name);
  return names;
}

void Loader::apply_keys(Draft& draft, const toml::table& table, std::string_view where) {
  for (auto [key, node] : in_file_order(table)) {
    const ServiceKey* found = nullptr;
    for (const auto& k : kServiceKeys) {
      if (k.name == key) {
        found = &k;
        break;
      }
    }
    if (!found) {
      errors_.at(*node, "unknown key " + quoted(key) + " in " + std::string(where) +
                            suggestion(key, service_key_names()));
      continue;
    }
    // Only an accepted value's node is remembered: later passes check values, and a
    // refused one was reported already.
    const bool accepted = (this->*found->handler)(draft, *node);
    draft.set(found->name, accepted ? node : nullptr);
  }
}

// What needs the whole service: a command, and log paths (which default from the name).
void Loader::finish_service(Draft& d, const toml::table& table) {
  ServiceConfig& cfg = d.cfg;
  if (!d.given("command")) {
    errors_.at(table, "service " + quoted(cfg.name) + " has no 'command'");
  }
  // key_stdout/key_stderr left the raw file name; "" means not given (or not a file).
  // Instances each get a file of their own: worker@0.log, worker@1.log, ...
  if (cfg.stdout_target == LogTarget::file && cfg.stdout_path.empty()) {
    cfg.stdout_path = cfg.name + (d.is_template ? "@{instance}" : "") + ".log";
  }
  if (!cfg.stderr_given) {
    cfg.stderr_target = cfg.stdout_target;
    cfg.stderr_path = cfg.stdout_path;
  }
  const std::string& log_dir = config_.supervisor.log_dir;
  for (auto [target, path] : {std::pair{cfg.stdout_target, &cfg.stdout_path}, std::pair{cfg.stderr_target, &cfg.stderr_path}}) {
    if (target == LogTarget::file && !is_absolute(*path)) *path = join_path(log_dir, *path);
    if (target != LogTarget::file) path->clear();
  }
}

bool Loader::key_command(Draft& d, const toml::node& n) {
  std::vector<std::string> argv;
  if (!read_string_array(n, "command", argv)) return false;
  if (argv.empty()) {
    errors_.at(n, "'command' must not be empty");
    return false;
  }
  const std::string& program = argv.front();
  const toml::node& first = *n.as_array()->get(0);
  if (program.empty()) {
    errors_.at(first, "'command' starts with an empty program name");
    return false;
  }
  // A relative path would be resolved against a working directory that depends on the
  // user's home; refuse it rather than guess.
  if (!is_absolute(program) && program.find('/') != std::string::npos) {
    errors_.at(first, "program " + quoted(program) + " must be an absolute path or a bare name looked up in PATH");
    return false;
  }
  d.cfg.command = std::move(argv);
  return true;
}

bool Loader::key_directory(Draft& d, const toml::node& n) {
  return assign(d.cfg.directory, read_absolute_path(n, "directory"));
}

bool Loader::key_user(Draft& d, const toml::node& n) { return assign(d.cfg.user, read_name(n, "user")); }

bool Loader::key_group(Draft& d, const toml::node& n) { return assign(d.cfg.group, read_name(n, "group")); }

// Entries add to those of [defaults] instead of replacing the whole table: a shared
// LANG in [defaults] and a service's own DJANGO_SETTINGS_MODULE should both apply.
bool Loader::key_environment(Draft& d, const toml::node& n) {
  const toml::table* table = read_table(n, "environment");
  if (!table) return false;
  bool ok = true;
  for (auto [key, value] : in_file_order(*table)) {
    if (!is_env_name(key)) {
      errors_.at(*value, "invalid environment variable name " + quoted(key) +
                             " (use letters, digits and '_', not starting with a digit)");
      ok = false;
      continue;
    }
    if (d.is_template && key == "INSTANCE") {
      errors_.at(*value, "'INSTANCE' is set by superd to the number of each instance");
      ok = false;
      continue;
    }
    if (is_reserved_env_name(key)) {
      errors_.at(*value, quoted(key) + " is set by superd itself (socket activation, the notify socket, the "
                         "invocation); it cannot come from 'environment'");
      ok = false;
      continue;
    }
    ok = assign(d.cfg.environment[std::string(key)], read_string(*value, "environment." + std::string(key))) && ok;
  }
  return ok;
}

bool Loader::key_env_file(Draft& d, const toml::node& n) {
  return assign(d.cfg.env_file, read_absolute_path(n, "env_file"));
}

bool Loader::key_umask(Draft& d, const toml::node& n) {
  if (n.is_integer()) {
    // 022 is not a TOML integer and 22 is not what was meant; insist on the string form.
    errors_.at(n, "'umask' must be a string of octal digits like \"022\", not an integer");
    return false;
  }
  auto s = read_string(n, "umask");
  if (!s) return false;
  std::string why;
  auto mask = parse_umask(*s, &why);
  if (!mask) errors_.at(n, "invalid umask " + quoted(*s) + ": " + why);
  return assign(d.cfg.umask, std::move(mask));
}

// Like environment, entries add to those of [defaults].
bool Loader::key_limits(Draft& d, const toml::node& n) {
  const toml::table* table = read_table(n, "limits");
  if (!table) return false;
  bool ok = true;
  for (auto [key, value] : in_file_order(*table)) {
    auto resource = parse_rlimit_name(key);
    if (!resource) {
      errors_.at(*value, "unknown limit " + quoted(key) + suggestion(key, kLimitNames));
      ok = false;
      continue;
    }
    ok = read_limit(d.cfg.limits[*resource], *value, "limits." + std::string(key)) && ok;
  }
  return ok;
}

bool Loader::key_enabled(Draft& d, const toml::node& n) { return assign(d.cfg.enabled, read_bool(n, "enabled")); }

bool Loader::key_restart(Draft& d, const toml::node& n) {
  auto s = read_choice(n, "restart", {"always", "on-failure", "never"});
  if (!s) return false;
  d.cfg.restart = *s == "always"  ? RestartPolicy::always
                  : *s == "never" ? RestartPolicy::never
                                  : RestartPolicy::on_failure;
  return true;
}

bool Loader::key_start_seconds(Draft& d, const toml::node& n) {
  return assign(d.cfg.start_seconds, read_duration(n, "start_seconds"));
}

bool Loader::key_start_retries(Draft& d, const toml::node& n) {
  return assign(d.cfg.start_retries, read_int(n, "start_retries", 0, INT_MAX));
}

// A whole table: a service's backoff replaces that of [defaults]; a key left out takes
// the built-in default, not the [defaults] one.
bool Loader::key_backoff(Draft& d, const toml::node& n) {
  const toml::table* table = read_table(n, "backoff");
  if (!table) return false;
  Duration initial = ServiceConfig{}.backoff_initial;
  Duration max = ServiceConfig{}.backoff_max;
  const toml::node* initial_node = nullptr;
  const toml::node* max_node = nullptr;
  bool ok = true;
  for (auto [key, value] : in_file_order(*table)) {
    if (key == "initial") {
      initial_node = value;
      ok = assign(initial, read_duration(*value, "backoff.initial")) && ok;
    } else if (key == "max") {
      max_node = value;
      ok = assign(max, read_duration(*value, "backoff.max")) && ok;
    } else {
      errors_.at(*value, "unknown key " + quoted(key) + " in 'backoff'" + suggestion(key, kBackoffKeys));
      ok = false;
    }
  }
  if (!ok) return false;
  if (initial > max) {
    errors_.at(initial_node ? *initial_node : max_node ? *max_node : n,
               "'backoff.initial' (" + format_duration(initial) + ") is greater than 'backoff.max' (" +
                   format_duration(max) + ")");
    return false;
  }
  d.cfg.backoff_initial = initial;
  d.cfg.backoff_max = max;
  return true;
}

bool Loader::key_stop_signal(Draft& d, const toml::node& n) {
  return assign(d.cfg.stop_signal, read_signal(n, "stop_signal"));
}

bool Loader::key_stop_mode(Draft& d, const toml::node& n) {
  auto s = read_choice(n, "stop_mode", {"main", "group"});
  if (!s) return false;
  d.cfg.stop_mode = *s == "main" ? StopMode::main : StopMode::group;
  return true;
}

bool Loader::key_stop_timeout(Draft& d, const toml::node& n) {
  return assign(d.cfg.stop_timeout, read_duration(n, "stop_timeout"));
}

bool Loader::key_reload_signal(Draft& d, const toml::node& n) {
  return assign(d.cfg.reload_signal, read_signal(n, "reload_signal"));
}

bool Loader::key_after(Draft& d, const toml::node& n) {
  std::vector<std::string> names;
  std::vector<const toml::node*> nodes;
  if (!read_string_array(n, "after", names, &nodes)) return false;
  d.cfg.after = std::move(names);
  d.after_nodes = std::move(nodes);
  return true;
}

// "console", "journal", or a file name kept raw here and resolved against log_dir in
// finish_service (a file really named console is "./console").
bool Loader::read_log_target(const toml::node& n, std::string_view key, LogTarget& target, std::string& path) {
  auto s = read_log_path(n, key);
  if (!s) return false;
  if (*s == "console" || *s == "journal") {
    target = *s == "console" ? LogTarget::console : LogTarget::journal;
    path.clear();
  } else {
    target = LogTarget::file;
    path = std::move(*s);
  }
  return true;
}

bool Loader::key_stdout(Draft& d, const toml::node& n) {
  return read_log_target(n, "stdout", d.cfg.stdout_target, d.cfg.stdout_path);
}

bool Loader::key_stderr(Draft& d, const toml::node& n) {
  if (!read_log_target(n, "stderr", d.cfg.stderr_target, d.cfg.stderr_path)) return false;
  d.cfg.stderr_given = true;
  return true;
}

bool Loader::key_log_timestamps(Draft& d, const toml::node& n) {
  return assign(d.cfg.log_timestamps, read_bool(n, "log_timestamps"));
}

bool Loader::key_log_max_bytes(Draft& d, const toml::node& n) {
  return assign(d.cfg.log_max_bytes, read_size(n, "log_max_bytes"));
}

bool Loader::key_log_backups(Draft& d, const toml::node& n) {
  return assign(d.cfg.log_backups, read_int(n, "log_backups", 0, INT_MAX));
}

bool Loader::key_critical(Draft& d, const toml::node& n) {
  return assign(d.cfg.critical, read_bool(n, "critical"));
}

// N copies of the service (config_instances.h). A service's own choice: in [defaults]
// it would turn every service into instances.
bool Loader::key_instances(Draft& d, const toml::node& n) {
  if (d.cfg.name.empty()) {
    errors_.at(n, "'instances' is a service's own key, not one for [defaults]");
    return false;
  }
  return assign(d.instances, read_int(n, "instances", 0, kMaxInstances));
}

bool Loader::key_resources(Draft& d, const toml::node& n) {
  auto sink = [this](const toml::node& where, std::string message) {
    errors_.at(where, std::move(message));
  };
  const std::string where = d.cfg.name.empty() ? "[defaults]" : "service " + quoted(d.cfg.name);
  return load_resources(n, where, d.cfg.resources, sink);
}

// [service.NAME.sandbox] and [defaults.sandbox]: key by key onto what [defaults] gave.
bool Loader::key_sandbox(Draft& d, const toml::node& n) {
  const std::string where = d.cfg.name.empty() ? "[defaults.sandbox]" : "[service." + d.cfg.name + ".sandbox]";
  bool ok = true;
  load_sandbox(n, where, d.cfg.sandbox, [&](const toml::source_position& p, std::string message) {
    errors_.at(errors_.pos_of(p), std::move(message));
    ok = false;
  });
  return ok;
}

}  // namespace superd::config_internal
