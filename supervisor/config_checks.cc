// Pass 1, the keys whose values are targets: `ready` and `health` (a check of one kind,
// its target typed: an address, a URL, a compiled regex, a program) and `listen`. Host
// names are resolved here, once, so the daemon never parses or looks up an address.
#include "supervisor/config_instances.h"
#include "supervisor/config_loader.h"

namespace superd::config_internal {

bool Loader::key_ready(Draft& d, const toml::node& n) {
  return assign(d.cfg.ready, read_check(n, "ready", /*health=*/false));
}

bool Loader::key_health(Draft& d, const toml::node& n) {
  auto check = read_check(n, "health", /*health=*/true);
  if (!check) return false;
  d.cfg.health = std::move(*check);
  return true;
}

// ready: "started" | "notify" | { notify = true | tcp|http|exec|log = ..., timeout, interval }
// health: { tcp|http|exec|log = ..., timeout, interval, failures }
std::optional<Check> Loader::read_check(const toml::node& n, std::string_view key, bool health) {
  const std::string k(key);
  if (n.is_string() && !health) {
    auto s = read_choice(n, key, {"started", "notify"});
    if (!s) return std::nullopt;
    Check check;
    check.kind = *s == "started" ? Check::Kind::started : Check::Kind::notify;
    return check;
  }
  const toml::table* table = n.as_table();
  if (!table) {
    errors_.at(n, "'" + k + "' must be " + (health ? "" : "\"started\", \"notify\" or ") +
                      "a table like { tcp = \"127.0.0.1:8000\" }, not " + std::string(type_name(n)));
    return std::nullopt;
  }
  CheckDraft draft{k, health};
  for (auto [name, value] : in_file_order(*table)) read_check_entry(draft, name, *value);
  if (!draft.kind_node) {
    errors_.at(n, "'" + k + "' needs one of " +
                      std::string(health ? "" : "'notify', ") + "'tcp', 'http', 'exec' or 'log'");
    return std::nullopt;
  }
  if (!draft.ok) return std::nullopt;
  return draft.check;
}

// One key of a check's table: its kind (exactly one), or an option.
void Loader::read_check_entry(CheckDraft& c, std::string_view name, const toml::node& value) {
  const std::string label = c.key + "." + std::string(name);
  if (name == "tcp" || name == "http" || name == "exec" || name == "log" || (name == "notify" && !c.health)) {
    if (c.kind_node) {
      errors_.at(value, "'" + c.key + "' has both '" + c.kind_name + "' and '" + std::string(name) +
                            "'; a check has exactly one kind");
      c.ok = false;
      return;
    }
    c.kind_node = &value;
    c.kind_name = std::string(name);
    if (name != "notify") {
      c.ok = read_check_target(c.check, name, value, label) && c.ok;
      return;
    }
    // { notify = true, timeout = "30s" }: READY=1 on NOTIFY_SOCKET, with a deadline.
    const auto* flag = value.as_boolean();
    if (!flag || !flag->get()) {
      errors_.at(value, "'" + label + "' must be true");
      c.ok = false;
    }
    c.check.kind = Check::Kind::notify;
  } else if (name == "timeout") {
    c.ok = assign(c.check.timeout, read_duration(value, label, /*positive=*/true)) && c.ok;
  } else if (name == "interval") {
    c.ok = assign(c.check.interval, read_duration(value, label, /*positive=*/true)) && c.ok;
  } else if (name == "failures" && c.health) {
    c.ok = assign(c.check.failures, read_int(value, label, 1, INT_MAX)) && c.ok;
  } else {
    std::vector<std::string_view> known(std::begin(kCheckKeys), std::end(kCheckKeys));
    if (c.health) known.push_back("failures");
    errors_.at(value, "unknown key " + quoted(name) + " in '" + c.key + "'" + suggestion(name, known));
    c.ok = false;
  }
}

bool Loader::read_check_target(Check& check, std::string_view kind, const toml::node& n, const std::string& label) {
  if (kind == "exec") {
    std::vector<std::string> argv;
    if (!read_string_array(n, label, argv)) return false;
    if (argv.empty() || argv.front().empty()) {
      errors_.at(n, "'" + label + "' must name a program");
      return false;
    }
    for (std::string arg : argv) {
      if (!instance_text(arg, n, label)) return false;
    }
    check.kind = Check::Kind::exec;
    check.argv = std::move(argv);
    return true;
  }
  auto target = read_string(n, label);
  if (!target) return false;
  if (host_depends_on_instance(kind, *target, n, label) || !instance_text(*target, n, label)) return false;
  if (kind == "tcp") return read_tcp_target(check, *target, n, label);
  if (kind == "http") return read_http_target(check, *target, n, label);
  return read_log_target(check, std::move(*target), n, label);
}

bool Loader::read_tcp_target(Check& check, const std::string& text, const toml::node& n, const std::string& label) {
  check.kind = Check::Kind::tcp;
  std::string why;
  auto address = parse_host_port(text, HostNames::allowed, &why);
  if (!address) {
    errors_.at(n, "invalid address " + quoted(text) + " for '" + label + "': " + why);
    return false;
  }
  if (!resolve(*address, n, label)) return false;
  check.tcp = std::move(*address);
  return true;
}

bool Loader::read_http_target(Check& check, const std::string& text, const toml::node& n, const std::string& label) {
  check.kind = Check::Kind::http;
  std::string why;
  auto url = parse_http_url(text, &why);
  if (!url) {
    errors_.at(n, "invalid URL " + quoted(text) + " for '" + label + "': " + why);
    return false;
  }
  if (!resolve(url->authority, n, label)) return false;
  check.http = std::move(*url);
  return true;
}

// Compiled once here; every start of the service matches with this compiled pattern.
bool Loader::read_log_target(Check& check, std::string text, const toml::node& n, const std::string& label) {
  check.kind = Check::Kind::log;
  if (text.empty() || text.size() > kMaxRegexLength) {
    errors_.at(n, "'" + label + "' must be a regular expression of 1 to " + std::to_string(kMaxRegexLength) +
                      " characters");
    return false;
  }
  std::string why;
  auto pattern = LogPattern::compile(std::move(text), &why);
  if (!pattern) {
    errors_.at(n, "invalid regular expression for '" + label + "': " + why);
    return false;
  }
  check.log = std::move(*pattern);
  return true;
}

// A host name gets its address now (an IP literal has it already); one that does not
// resolve is an error here rather than a probe that fails at every attempt.
bool Loader::resolve(HostPort& hp, const toml::node& n, const std::string& label) {
  if (!hp.address.empty() || !options_.resolve_hosts) return true;
  std::string why;
  if (resolve_host(hp, &why)) return true;
  errors_.at(n, "cannot resolve host " + quoted(hp.host) + " for '" + label + "': " + why);
  return false;
}

bool Loader::key_listen(Draft& d, const toml::node& n) {
  std::vector<std::string> entries;
  std::vector<const toml::node*> nodes;
  bool ok = read_string_array(n, "listen", entries, &nodes);
  std::vector<ListenEndpoint> endpoints;
  for (size_t i = 0; i < entries.size(); ++i) {
    std::string why;
    std::string text = entries[i];
    if (!instance_text(text, *nodes[i], "listen")) {
      ok = false;
      continue;
    }
    auto endpoint = parse_listen_endpoint(text, kListenHostNames, &why);
    if (!endpoint) {
      errors_.at(*nodes[i], "invalid listen address " + quoted(entries[i]) + ": " + why);
      ok = false;
    } else if (endpoint->kind == ListenEndpoint::Kind::tcp && !resolve(endpoint->tcp, *nodes[i], "listen")) {
      ok = false;
    } else {
      endpoints.push_back(std::move(*endpoint));
    }
  }
  if (!ok) return false;
  d.cfg.listen = std::move(endpoints);
  d.listen_nodes = std::move(nodes);
  return true;
}

}  // namespace superd::config_internal
