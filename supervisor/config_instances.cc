// Instances made from a template, and a config re-counted (config_instances.h). Pure:
// no system call, no name lookup, so `superctl scale` can use it inside the loop.
#include "supervisor/config_instances.h"

#include <algorithm>
#include <set>

#include "supervisor/config_loader.h"

namespace superd {

using config_internal::quoted;

bool has_instance_token(std::string_view text) { return text.find(kInstanceToken) != std::string_view::npos; }

std::string substitute_instance(std::string_view text, int instance) {
  std::string out;
  const std::string number = std::to_string(instance);
  for (size_t at = 0;;) {
    size_t found = text.find(kInstanceToken, at);
    out.append(text.substr(at, found - at));
    if (found == std::string_view::npos) return out;
    out += number;
    at = found + kInstanceToken.size();
  }
}

std::string instance_name(const std::string& template_name, int instance) {
  return template_name + "@" + std::to_string(instance);
}

namespace {

// A host name in a check target is resolved once, at load, and the loader refuses one
// that depends on {instance}: an instance whose target names a host takes its address.
bool take_address(HostPort& made, const HostPort& proto) {
  if (!made.is_name()) return true;
  if (made.host != proto.host) return false;
  made.address = proto.address;
  return true;
}

std::optional<ConfigError> instantiate_check(Check& check, const Check& proto,
                                             const std::optional<TemplateText>& target, int k,
                                             const std::string& label, const std::string& name) {
  for (auto& arg : check.argv) arg = substitute_instance(arg, k);
  if (!target) return std::nullopt;
  const std::string text = substitute_instance(target->text, k);
  const std::string where = " for '" + label + "' of " + name + ": ";
  std::string why;
  switch (check.kind) {
    case Check::Kind::tcp: {
      auto hp = parse_host_port(text, HostNames::allowed, &why);
      if (hp && !take_address(*hp, proto.tcp)) why = "its host name differs from instance 0's";
      if (!hp || !why.empty()) return ConfigError{target->pos, "invalid address " + quoted(text) + where + why};
      check.tcp = std::move(*hp);
      break;
    }
    case Check::Kind::http: {
      auto url = parse_http_url(text, &why);
      if (url && !take_address(url->authority, proto.http.authority)) why = "its host name differs from instance 0's";
      if (!url || !why.empty()) return ConfigError{target->pos, "invalid URL " + quoted(text) + where + why};
      check.http = std::move(*url);
      break;
    }
    case Check::Kind::log: {
      auto pattern = LogPattern::compile(text, &why);
      if (!pattern) return ConfigError{target->pos, "invalid regular expression" + where + why};
      check.log = std::move(*pattern);
      break;
    }
    case Check::Kind::started:
    case Check::Kind::notify:
    case Check::Kind::exec:
      break;
  }
  return std::nullopt;
}

}  // namespace

std::variant<ServiceConfig, ConfigError> instantiate(const ServiceTemplate& t, int k) {
  ServiceConfig c = t.proto;
  c.name = instance_name(t.name, k);
  c.template_name = t.name;
  c.instance = k;
  for (auto& arg : c.command) arg = substitute_instance(arg, k);
  for (auto& [key, value] : c.environment) value = substitute_instance(value, k);
  c.env_file = substitute_instance(c.env_file, k);
  c.stdout_path = substitute_instance(c.stdout_path, k);
  c.stderr_path = substitute_instance(c.stderr_path, k);
  c.listen.clear();
  for (const auto& entry : t.listen) {
    const std::string text = substitute_instance(entry.text, k);
    std::string why;
    auto endpoint = parse_listen_endpoint(text, kListenHostNames, &why);
    if (!endpoint) {
      return ConfigError{entry.pos, "invalid listen address " + quoted(text) + " of " + c.name + ": " + why};
    }
    c.listen.push_back(std::move(*endpoint));
  }
  if (auto e = instantiate_check(c.ready, t.proto.ready, t.ready_target, k, "ready", c.name)) return *e;
  if (c.health) {
    if (auto e = instantiate_check(*c.health, *t.proto.health, t.health_target, k, "health", c.name)) return *e;
  }
  return c;
}

std::vector<ConfigError> instance_collisions(const ServiceTemplate& t) {
  std::vector<ConfigError> out;
  const std::string whose = " of every instance of " + quoted(t.name);
  for (const auto& entry : t.listen) {
    if (has_instance_token(entry.text)) continue;
    out.push_back({entry.pos, quoted(entry.text) + " would be the 'listen' socket" + whose +
                                  ": put {instance} in it (a port or a path of each instance's own)"});
  }
  for (const auto* given : {&t.stdout_text, &t.stderr_text}) {
    if (!*given || has_instance_token((*given)->text)) continue;
    // Shared by every instance by design: each line says which instance wrote it.
    if ((*given)->text == "console" || (*given)->text == "journal") continue;
    const char* key = given == &t.stdout_text ? "stdout" : "stderr";
    out.push_back({(*given)->pos, quoted((*given)->text) + " would be the '" + key + "' log file" + whose +
                                      ": put {instance} in it (or leave it out: " + t.name + "@N.log)"});
  }
  return out;
}

namespace {

// Where new instances of `t` go in the file order: after its last instance, or where its
// table is (before the first service whose table comes after it) when none is left.
size_t place_of(const Config& config, const ServiceTemplate& t) {
  size_t at = config.services.size();
  for (size_t i = config.services.size(); i-- > 0;) {
    if (config.services[i].template_name == t.name) return i + 1;
  }
  for (size_t i = 0; i < config.services.size(); ++i) {
    const SourcePos& p = config.services[i].pos;
    if (std::pair(p.line, p.col) > std::pair(t.pos.line, t.pos.col)) return i;
  }
  return at;
}

// A socket the new instances would share with a service already holding it.
std::vector<ConfigError> listen_conflicts(const Config& config, const std::vector<ServiceConfig>& added,
                                          const ServiceTemplate& t) {
  std::vector<ConfigError> out;
  for (const auto& made : added) {
    for (size_t i = 0; i < made.listen.size(); ++i) {
      for (const auto& s : config.services) {
        const bool shared = std::any_of(s.listen.begin(), s.listen.end(), [&](const ListenEndpoint& e) {
          return e.socket_key() == made.listen[i].socket_key();
        });
        if (shared && s.name != made.name) {
          out.push_back({t.listen[i].pos, quoted(made.listen[i].to_string()) + " of " + made.name +
                                              " is already in 'listen' of service " + quoted(s.name)});
        }
      }
    }
  }
  return out;
}

}  // namespace

std::variant<Config, std::vector<ConfigError>> with_instances(const Config& config, const std::string& name,
                                                              int n) {
  const ServiceTemplate* t = config.find_template(name);
  auto fail = [](SourcePos pos, std::string message) {
    return std::vector<ConfigError>{ConfigError{std::move(pos), std::move(message)}};
  };
  if (!t) {
    if (const ServiceConfig* plain = config.find(name)) {
      return fail(plain->pos, "service " + quoted(name) + " has no 'instances': give its table 'instances = N' " +
                                  "to run copies of it");
    }
    return fail({}, "no service " + quoted(name));
  }
  if (n < 0 || n > kMaxInstances) {
    return fail(t->instances_pos, "the number of instances must be 0 to " + std::to_string(kMaxInstances) +
                                      ", not " + std::to_string(n));
  }
  if (n >= 2) {
    if (auto collisions = instance_collisions(*t); !collisions.empty()) return collisions;
  }
  Config next = config;
  std::set<int> have;
  std::erase_if(next.services, [&](const ServiceConfig& s) {
    if (s.template_name != name) return false;
    if (s.instance < n) have.insert(s.instance);
    return s.instance >= n;
  });
  std::vector<ServiceConfig> added;
  for (int k = 0; k < n; ++k) {
    if (have.count(k)) continue;
    auto made = instantiate(*t, k);
    if (auto* error = std::get_if<ConfigError>(&made)) return std::vector<ConfigError>{*error};
    added.push_back(std::move(std::get<ServiceConfig>(made)));
  }
  if (auto conflicts = listen_conflicts(next, added, *t); !conflicts.empty()) return conflicts;
  const auto at = static_cast<std::ptrdiff_t>(place_of(next, *t));
  next.services.insert(next.services.begin() + at, added.begin(), added.end());
  return next;
}

ScaledConfig with_saved_scale(Config loaded, const std::map<std::string, SavedScale>& saved) {
  ScaledConfig out{std::move(loaded), {}, {}};
  for (const auto& [name, choice] : saved) {
    const ServiceTemplate* t = out.config.find_template(name);
    if (!t || t->instances != choice.configured) {
      out.forgotten.push_back(name);
      continue;
    }
    if (choice.instances == t->instances) continue;
    auto scaled = with_instances(out.config, name, choice.instances);
    if (auto* errors = std::get_if<std::vector<ConfigError>>(&scaled)) {
      out.problems.push_back(name + ": the saved " + std::to_string(choice.instances) +
                             " instances cannot run: " + errors->front().format() + "; running " +
                             std::to_string(t->instances));
      continue;
    }
    out.config = std::move(std::get<Config>(scaled));
  }
  return out;
}

}  // namespace superd
