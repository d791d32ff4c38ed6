// Pass 1, the keys whose values are targets: `ready` and `health` (a check of one kind
// and its target: an address, a URL, a regex, a program) and `listen`.
#include <arpa/inet.h>

#include <regex>

#include "supervisor/config_loader.h"

namespace superd::config_internal {
namespace {

bool parse_port(std::string_view text, std::string* error) {
  if (text.empty() || text.size() > 5 ||
      !std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    *error = "the port must be a number from 1 to 65535";
    return false;
  }
  int port = std::stoi(std::string(text));
  if (port < 1 || port > 65535) {
    *error = "the port must be a number from 1 to 65535";
    return false;
  }
  return true;
}

// "127.0.0.1:8000" or "[::1]:8000": hosts are IP literals, so neither superd nor a probe
// ever blocks on a name lookup.
bool parse_host_port(std::string_view text, std::string* error) {
  std::string host;
  std::string_view port;
  int family = AF_INET;
  if (!text.empty() && text.front() == '[') {
    size_t close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      *error = "expected [IPv6]:PORT";
      return false;
    }
    host = std::string(text.substr(1, close - 1));
    port = text.substr(close + 2);
    family = AF_INET6;
  } else {
    size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) {
      *error = "expected HOST:PORT";
      return false;
    }
    host = std::string(text.substr(0, colon));
    port = text.substr(colon + 1);
  }
  unsigned char addr[sizeof(in6_addr)];
  if (host.find('\0') != std::string::npos || inet_pton(family, host.c_str(), addr) != 1) {
    *error = family == AF_INET6 ? "'" + host + "' is not an IPv6 address"
                                : "the host must be an IPv4 address or an [IPv6] address";
    return false;
  }
  return parse_port(port, error);
}

bool parse_listen(std::string_view text, std::string* error) {
  if (text.substr(0, 4) == "tcp:") return parse_host_port(text.substr(4), error);
  if (text.substr(0, 5) == "unix:") {
    std::string_view path = text.substr(5);
    if (!is_absolute(path)) {
      *error = "the socket path must be absolute";
      return false;
    }
    if (path.size() > kMaxSocketPath) {
      *error = "the socket path is longer than " + std::to_string(kMaxSocketPath) + " bytes";
      return false;
    }
    return true;
  }
  *error = "expected tcp:HOST:PORT or unix:/PATH";
  return false;
}

bool parse_http_url(std::string_view url, std::string* error) {
  constexpr std::string_view kScheme = "http://";
  if (url.substr(0, kScheme.size()) != kScheme) {
    *error = "only http:// URLs are supported";
    return false;
  }
  for (char c : url) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) {
      *error = "the URL contains a space or control character";
      return false;
    }
  }
  std::string_view rest = url.substr(kScheme.size());
  std::string_view authority = rest.substr(0, rest.find_first_of("/?#"));
  if (authority.empty()) {
    *error = "the URL has no host";
    return false;
  }
  return true;
}

}  // namespace

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
    check.kind = Check::Kind::exec;
    check.argv = std::move(argv);
    return true;
  }
  auto target = read_string(n, label);
  if (!target) return false;
  std::string why;
  if (kind == "tcp") {
    check.kind = Check::Kind::tcp;
    if (!parse_host_port(*target, &why)) {
      errors_.at(n, "invalid address " + quoted(*target) + " for '" + label + "': " + why);
      return false;
    }
  } else if (kind == "http") {
    check.kind = Check::Kind::http;
    if (!parse_http_url(*target, &why)) {
      errors_.at(n, "invalid URL " + quoted(*target) + " for '" + label + "': " + why);
      return false;
    }
  } else {
    check.kind = Check::Kind::log;
    if (target->empty() || target->size() > kMaxRegexLength) {
      errors_.at(n, "'" + label + "' must be a regular expression of 1 to " + std::to_string(kMaxRegexLength) +
                        " characters");
      return false;
    }
    try {
      std::regex re(*target, std::regex::ECMAScript);
    } catch (const std::regex_error& e) {
      errors_.at(n, "invalid regular expression for '" + label + "': " + e.what());
      return false;
    }
  }
  check.target = std::move(*target);
  return true;
}

bool Loader::key_listen(Draft& d, const toml::node& n) {
  std::vector<std::string> entries;
  std::vector<const toml::node*> nodes;
  bool ok = read_string_array(n, "listen", entries, &nodes);
  for (size_t i = 0; i < entries.size(); ++i) {
    std::string why;
    if (!parse_listen(entries[i], &why)) {
      errors_.at(*nodes[i], "invalid listen address " + quoted(entries[i]) + ": " + why);
      ok = false;
    }
  }
  if (!ok) return false;
  d.cfg.listen = std::move(entries);
  d.listen_nodes = std::move(nodes);
  return true;
}

}  // namespace superd::config_internal
