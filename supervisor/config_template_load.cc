// Between passes 1 and 2: the tables with `instances` (config_instances.h). Pass 1 typed
// such a table once, reading "{instance}" as 0 so every value is checked where it is
// written; here it becomes a ServiceTemplate, kept in the config for `superctl scale`,
// and one draft per instance, made by instantiate() from the template like every later
// instance will be. Passes 2 and 3 then see the instances as services of their own:
// each instance's env_file is checked, each `listen` socket compared with the others.
#include "supervisor/config_instances.h"
#include "supervisor/config_loader.h"

namespace superd::config_internal {
namespace {

// The text of a check's tcp, http or log target, where it was written.
std::optional<TemplateText> target_text(const toml::node* check, const Errors& errors) {
  const toml::table* table = check ? check->as_table() : nullptr;
  if (!table) return std::nullopt;
  for (const char* kind : {"tcp", "http", "log"}) {
    if (const toml::node* n = table->get(kind); n && n->is_string()) {
      return TemplateText{n->value_or(std::string()), errors.pos_of(*n)};
    }
  }
  return std::nullopt;
}

std::optional<TemplateText> given_text(const toml::node* n, const Errors& errors) {
  if (!n || !n->is_string()) return std::nullopt;
  return TemplateText{n->value_or(std::string()), errors.pos_of(*n)};
}

}  // namespace

bool Loader::instance_text(std::string& text, const toml::node& n, std::string_view label) {
  if (!has_instance_token(text)) return true;
  if (!template_keys_) {
    errors_.at(n, "'{instance}' in '" + std::string(label) + "' is for a service with 'instances'");
    return false;
  }
  text = substitute_instance(text, 0);
  return true;
}

// Host names are resolved once, at load: a host that changes with the instance would
// need a lookup at every `superctl scale`. An IP literal may change.
bool Loader::host_depends_on_instance(std::string_view kind, const std::string& text, const toml::node& n,
                                      const std::string& label) {
  if (!template_keys_ || !has_instance_token(text) || (kind != "tcp" && kind != "http")) return false;
  auto host = [&](int k) -> std::optional<HostPort> {
    std::string why;
    const std::string made = substitute_instance(text, k);
    if (kind == "tcp") return parse_host_port(made, HostNames::allowed, &why);
    auto url = parse_http_url(made, &why);
    return url ? std::optional<HostPort>(url->authority) : std::nullopt;
  };
  auto first = host(0), second = host(1);
  if (!first || !second || first->host == second->host || (!first->is_name() && !second->is_name())) return false;
  errors_.at(n, "the host of '" + label + "' must not depend on {instance}: a host name is looked up once, " +
                    "at load (an IP address may)");
  return true;
}

ServiceTemplate Loader::make_template(const Draft& d) {
  ServiceTemplate t;
  t.name = d.cfg.name;
  t.pos = d.cfg.pos;
  t.instances = *d.instances;
  if (const toml::node* n = d.node("instances")) t.instances_pos = errors_.pos_of(*n);
  t.proto = d.cfg;
  for (const toml::node* n : d.listen_nodes) t.listen.push_back({n->value_or(std::string()), errors_.pos_of(*n)});
  t.ready_target = target_text(d.node("ready"), errors_);
  t.health_target = target_text(d.node("health"), errors_);
  t.stdout_text = given_text(d.node("stdout"), errors_);
  t.stderr_text = given_text(d.node("stderr"), errors_);
  return t;
}

// "{instance}" in a string value of a service without `instances` would be run as
// written: almost certainly a forgotten `instances`.
void Loader::check_no_instance_token(const Draft& d) {
  const ServiceConfig& c = d.cfg;
  auto report = [&](std::string_view key) {
    if (const toml::node* n = d.node(key)) {
      errors_.at(*n, "'{instance}' in '" + std::string(key) + "' of service " + quoted(c.name) +
                         ", which has no 'instances'");
    }
  };
  if (std::any_of(c.command.begin(), c.command.end(), [](const std::string& a) { return has_instance_token(a); })) {
    report("command");
  }
  if (std::any_of(c.environment.begin(), c.environment.end(),
                  [](const auto& kv) { return has_instance_token(kv.second); })) {
    report("environment");
  }
  if (has_instance_token(c.env_file)) report("env_file");
  if (d.node("stdout") && has_instance_token(c.stdout_path)) report("stdout");
  if (d.node("stderr") && has_instance_token(c.stderr_path)) report("stderr");
}

void Loader::expand_instances(std::vector<Draft>& drafts) {
  if (std::none_of(drafts.begin(), drafts.end(), [](const Draft& d) { return d.is_template; })) {
    for (const Draft& d : drafts) check_no_instance_token(d);
    return;  // nothing to expand: no draft moves
  }
  std::vector<Draft> out;
  out.reserve(drafts.size());
  for (Draft& d : drafts) {
    if (!d.is_template) {
      check_no_instance_token(d);
      out.push_back(std::move(d));
      continue;
    }
    if (!d.instances) continue;  // its value was refused, and reported
    ServiceTemplate t = make_template(d);
    if (t.instances >= 2) {
      for (auto& e : instance_collisions(t)) errors_.at(e.pos, std::move(e.message));
    }
    for (int k = 0; k < t.instances; ++k) {
      auto made = instantiate(t, k);
      if (auto* e = std::get_if<ConfigError>(&made)) {
        errors_.at(e->pos, std::move(e->message));  // the first instance it fails for says it
        break;
      }
      Draft instance = d;
      instance.cfg = std::move(std::get<ServiceConfig>(made));
      out.push_back(std::move(instance));
    }
    config_.templates.push_back(std::move(t));
  }
  drafts = std::move(out);
}

}  // namespace superd::config_internal
