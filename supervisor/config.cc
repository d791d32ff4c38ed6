// Behaviour of the config model itself: error formatting, reload comparison and the
// start order. Loading is config_load.h.
#include "supervisor/config.h"

#include <functional>
#include <queue>
#include <tuple>
#include <unordered_map>

namespace superd {

std::string ConfigError::format() const {
  if (pos.file.empty()) return message;
  if (pos.line <= 0) return pos.file + ": " + message;
  return pos.file + ":" + std::to_string(pos.line) + ":" + std::to_string(pos.col) + ": " + message;
}

// Every field but `pos`. Written out rather than a defaulted operator== because `pos`
// must be left out; a field added to ServiceConfig must be added to both lists.
bool ServiceConfig::same_definition(const ServiceConfig& o) const {
  return std::tie(name, template_name, instance, command, directory, user, group, environment, env_file, umask, limits,
                  enabled, restart, start_seconds, start_retries, backoff_initial, backoff_max,
                  stop_signal, stop_mode, stop_timeout, reload_signal, ready, health, listen,
                  after, stdout_target, stderr_target, stdout_path, stderr_path, stderr_given,
                  log_max_bytes, log_backups, log_timestamps, sandbox, critical) ==
         std::tie(o.name, o.template_name, o.instance, o.command, o.directory, o.user, o.group, o.environment, o.env_file,
                  o.umask, o.limits, o.enabled, o.restart, o.start_seconds, o.start_retries,
                  o.backoff_initial, o.backoff_max, o.stop_signal, o.stop_mode, o.stop_timeout,
                  o.reload_signal, o.ready, o.health, o.listen, o.after, o.stdout_target,
                  o.stderr_target, o.stdout_path, o.stderr_path, o.stderr_given, o.log_max_bytes,
                  o.log_backups, o.log_timestamps, o.sandbox, o.critical);
  // `resources` is left out: a changed limit is written to the running cgroup, without
  // a restart.
}

bool ServiceConfig::stderr_own_pipe() const {
  if (stderr_target != stdout_target) return true;
  switch (stderr_target) {
    case LogTarget::file:
      return stderr_path != stdout_path;
    case LogTarget::console:
      return stderr_given;  // `stderr = "console"`: superd's stderr, not its stdout
    case LogTarget::journal:
      return true;  // its own PRIORITY
  }
  return true;
}

PathTrust SupervisorConfig::path_trust() const {
  PathTrust trust;
  for (const auto& [dir, reason] : allow_group_writable) trust.group_writable.push_back(dir);
  return trust;
}

const ServiceConfig* Config::find(const std::string& name) const {
  for (const auto& s : services) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

ServiceIndex::ServiceIndex(const std::vector<ServiceConfig>& services) {
  by_name_.reserve(services.size());
  for (const auto& s : services) by_name_.emplace(s.name, &s);
}

ServiceIndex::ServiceIndex(const std::vector<const ServiceConfig*>& services) {
  by_name_.reserve(services.size());
  for (const ServiceConfig* s : services) by_name_.emplace(s->name, s);
}

const ServiceConfig* ServiceIndex::find(std::string_view name) const {
  auto it = by_name_.find(name);
  return it == by_name_.end() ? nullptr : it->second;
}

const ServiceTemplate* Config::find_template(const std::string& name) const {
  for (const auto& t : templates) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

std::vector<std::string> Config::expand(const std::string& name) const {
  if (find(name)) return {name};
  std::vector<std::string> out;
  for (const auto& s : services) {
    if (!s.template_name.empty() && s.template_name == name) out.push_back(s.name);
  }
  return out;
}

// Kahn's algorithm, always taking the ready service that comes first in the file, so
// services that do not depend on each other keep the order the operator wrote. Names in
// `after` that are not services are ignored (the loader reports them). Services caught
// in a cycle (also reported by the loader) are appended in file order rather than lost.
std::vector<std::string> Config::start_order() const {
  // A name in `after` stands for a service, or for every instance of a template.
  std::unordered_map<std::string, std::vector<size_t>> index;
  for (size_t i = 0; i < services.size(); ++i) {
    index[services[i].name].push_back(i);
    if (!services[i].template_name.empty()) index[services[i].template_name].push_back(i);
  }

  std::vector<size_t> waiting_on(services.size(), 0);          // unmet `after` entries
  std::vector<std::vector<size_t>> dependents(services.size());  // who waits for me
  for (size_t i = 0; i < services.size(); ++i) {
    for (const auto& dep : services[i].after) {
      auto it = index.find(dep);
      if (it == index.end()) continue;
      for (size_t d : it->second) {
        dependents[d].push_back(i);
        ++waiting_on[i];
      }
    }
  }

  std::priority_queue<size_t, std::vector<size_t>, std::greater<>> ready;
  for (size_t i = 0; i < services.size(); ++i) {
    if (waiting_on[i] == 0) ready.push(i);
  }
  std::vector<std::string> order;
  std::vector<bool> placed(services.size(), false);
  while (!ready.empty()) {
    size_t i = ready.top();
    ready.pop();
    order.push_back(services[i].name);
    placed[i] = true;
    for (size_t d : dependents[i]) {
      if (--waiting_on[d] == 0) ready.push(d);
    }
  }
  for (size_t i = 0; i < services.size(); ++i) {
    if (!placed[i]) order.push_back(services[i].name);
  }
  return order;
}

}  // namespace superd
