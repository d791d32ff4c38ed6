// Loading super.toml in three passes over the parsed document:
//
//   1. typing: every key of [supervisor], [defaults] and each [service.NAME] is checked
//      against the model and converted; [defaults] is converted once into a template
//      service that each service copies before its own keys override it;
//   2. the system (LoadOptions::check_system): users, groups, executables, directories
//      and env files, each checked on the value a service ends up with;
//   3. the services as a whole: `after` names, dependency cycles, shared listen sockets.
//
// No pass stops at a problem: each is recorded with the position of the TOML node that
// holds the offending value and the pass goes on, so `superd --check` shows everything
// at once. Nothing may throw out of here (the loader is fuzzed): toml++ reports syntax
// errors by exception, which is caught, and every number is range-checked before use.
#include "supervisor/config_load.h"

#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <arpa/inet.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <toml++/toml.h>

#include "base/env_file.h"
#include "base/file_read.h"
#include "base/values.h"
#include "supervisor/config_resources_load.h"
#include "supervisor/config_sandbox_load.h"

namespace superd {
namespace {

constexpr std::string_view kDefaultPath = "/usr/local/bin:/usr/bin:/bin";
constexpr size_t kMaxNameLength = 64;
constexpr size_t kMaxRegexLength = 1024;
// Durations end up added to steady_clock time points counted in nanoseconds; capping
// them at ten years keeps that arithmetic far from overflow.
constexpr Duration kMaxDuration = std::chrono::hours(24 * 365 * 10);
// sizeof(sockaddr_un::sun_path) minus the terminating NUL.
constexpr size_t kMaxSocketPath = sizeof(sockaddr_un{}.sun_path) - 1;

// ---------------------------------------------------------------------------------------
// Text helpers for messages.

// A user's value inside a message: control characters escaped so a terminal shows
// them, and long values cut so one bad line does not flood the output.
std::string quoted(std::string_view s) {
  constexpr size_t kMaxShown = 80;
  std::string out = "'";
  for (size_t i = 0; i < s.size() && i < kMaxShown; ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c == 0x7f) {
      char buf[8];
      snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    } else {
      out += s[i];
    }
  }
  if (s.size() > kMaxShown) out += "...";
  return out + "'";
}

std::string_view type_name(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::string: return "a string";
    case toml::node_type::integer: return "an integer";
    case toml::node_type::floating_point: return "a float";
    case toml::node_type::boolean: return "a boolean";
    case toml::node_type::date: return "a date";
    case toml::node_type::time: return "a time";
    case toml::node_type::date_time: return "a date-time";
    case toml::node_type::array: return "an array";
    case toml::node_type::table: return "a table";
    default: return "nothing";
  }
}

size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] != b[j - 1] ? 1 : 0)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

// " (did you mean 'command'?)" when a known name is within two edits, else "".
template <typename Names>
std::string suggestion(std::string_view word, const Names& known) {
  if (word.size() > kMaxNameLength) return "";
  for (const auto& candidate : known) {
    std::string_view c(candidate);
    if (edit_distance(word, c) <= std::min<size_t>(2, c.size() / 2)) {
      return " (did you mean '" + std::string(c) + "'?)";
    }
  }
  return "";
}

bool is_absolute(std::string_view path) { return !path.empty() && path.front() == '/'; }

std::string join_path(std::string_view dir, std::string_view name) {
  std::string out(dir);
  if (out.empty() || out.back() != '/') out += '/';
  return out + std::string(name);
}

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

bool is_valid_service_name(std::string_view name) {
  if (name.empty() || name.size() > kMaxNameLength) return false;
  auto ok = [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.' || c == '-';
  };
  // A leading '-' would read as an option to superctl, a leading '.' makes "." and ".."
  // which are path components in state_dir.
  return std::all_of(name.begin(), name.end(), ok) && name.front() != '-' && name.front() != '.';
}

bool is_env_name(std::string_view name) {
  if (name.empty() || (name.front() >= '0' && name.front() <= '9')) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  });
}

// getpwnam_r/getgrnam_r with a buffer that grows on ERANGE (large groups in LDAP).
template <typename Entry, typename Lookup>
bool name_exists(const std::string& name, Lookup lookup) {
  std::vector<char> buf(16384);
  while (true) {
    Entry entry;
    Entry* found = nullptr;
    int rc = lookup(name.c_str(), &entry, buf.data(), buf.size(), &found);
    if (rc == ERANGE && buf.size() < (1u << 24)) {
      buf.resize(buf.size() * 2);
      continue;
    }
    return rc == 0 && found != nullptr;
  }
}

bool user_exists(const std::string& name) { return name_exists<passwd>(name, getpwnam_r); }
bool group_exists(const std::string& name) { return name_exists<group>(name, getgrnam_r); }

bool is_executable_file(const std::string& path) {
  struct stat st {};
  return stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && access(path.c_str(), X_OK) == 0;
}

// ---------------------------------------------------------------------------------------
// Error collection.

class Errors {
 public:
  explicit Errors(std::string file) : file_(std::move(file)) {}

  SourcePos pos_of(const toml::node& node) const { return pos_of(node.source().begin); }

  SourcePos pos_of(const toml::source_position& p) const {
    auto clamp = [](toml::source_index i) { return static_cast<int>(std::min<toml::source_index>(i, INT_MAX)); };
    return {file_, clamp(p.line), clamp(p.column)};
  }

  void at(const toml::node& node, std::string message) { at(pos_of(node), std::move(message)); }

  void at(const SourcePos& pos, std::string message) { add({pos, std::move(message)}, pos); }

  // An error in another file (an env_file) is listed where the config refers to it.
  void add(ConfigError error, const SourcePos& anchor) {
    entries_.push_back({std::move(error), anchor.line, anchor.col, entries_.size()});
  }

  // In file order; an error found twice (a [defaults] value every service inherits) once.
  std::vector<ConfigError> sorted() {
    std::stable_sort(entries_.begin(), entries_.end(), [](const Entry& a, const Entry& b) {
      return std::tie(a.line, a.col, a.seq) < std::tie(b.line, b.col, b.seq);
    });
    std::vector<ConfigError> out;
    std::set<std::tuple<std::string, int, int, std::string>> seen;
    for (auto& e : entries_) {
      const auto& p = e.error.pos;
      if (seen.emplace(p.file, p.line, p.col, e.error.message).second) out.push_back(std::move(e.error));
    }
    return out;
  }

 private:
  struct Entry {
    ConfigError error;
    int line;
    int col;
    size_t seq;
  };
  std::string file_;
  std::vector<Entry> entries_;
};

// ---------------------------------------------------------------------------------------
// The loader.

// A service while it is being built: the model, plus the TOML node each key came from
// (the service's own or the one in [defaults]) so later passes can point at it.
struct Draft {
  ServiceConfig cfg;
  std::map<std::string, const toml::node*, std::less<>> nodes;  // keys with an accepted value
  std::set<std::string, std::less<>> given;                      // keys written, accepted or not
  std::vector<const toml::node*> after_nodes;   // one per cfg.after entry
  std::vector<const toml::node*> listen_nodes;  // one per cfg.listen entry

  const toml::node* node(std::string_view key) const {
    auto it = nodes.find(key);
    return it == nodes.end() ? nullptr : it->second;
  }
};

class Loader {
 public:
  Loader(const std::string& path, const LoadOptions& options) : path_(path), options_(options), errors_(path) {}

  LoadResult run(const toml::table& root);

 private:
  using KeyHandler = bool (Loader::*)(Draft&, const toml::node&);  // false: value refused
  struct ServiceKey {
    std::string_view name;
    KeyHandler handler;
  };
  static const ServiceKey kServiceKeys[];

  // Pass 1: typing.
  void load_supervisor(const toml::node& node);
  std::vector<Draft> load_services(const toml::table& services, const Draft& base);
  void check_service_name(std::string_view name, const toml::node& where);
  void apply_keys(Draft& draft, const toml::table& table, std::string_view where);
  void finish_service(Draft& draft, const toml::table& table);

  bool key_command(Draft& d, const toml::node& n);
  bool key_directory(Draft& d, const toml::node& n);
  bool key_user(Draft& d, const toml::node& n);
  bool key_group(Draft& d, const toml::node& n);
  bool key_environment(Draft& d, const toml::node& n);
  bool key_env_file(Draft& d, const toml::node& n);
  bool key_umask(Draft& d, const toml::node& n);
  bool key_limits(Draft& d, const toml::node& n);
  bool key_enabled(Draft& d, const toml::node& n);
  bool key_restart(Draft& d, const toml::node& n);
  bool key_start_seconds(Draft& d, const toml::node& n);
  bool key_start_retries(Draft& d, const toml::node& n);
  bool key_backoff(Draft& d, const toml::node& n);
  bool key_stop_signal(Draft& d, const toml::node& n);
  bool key_stop_mode(Draft& d, const toml::node& n);
  bool key_stop_timeout(Draft& d, const toml::node& n);
  bool key_reload_signal(Draft& d, const toml::node& n);
  bool key_ready(Draft& d, const toml::node& n);
  bool key_health(Draft& d, const toml::node& n);
  bool key_listen(Draft& d, const toml::node& n);
  bool key_after(Draft& d, const toml::node& n);
  bool key_stdout(Draft& d, const toml::node& n);
  bool key_stderr(Draft& d, const toml::node& n);
  bool key_log_max_bytes(Draft& d, const toml::node& n);
  bool key_log_backups(Draft& d, const toml::node& n);
  bool key_resources(Draft& d, const toml::node& n);
  bool key_sandbox(Draft& d, const toml::node& n);

  std::optional<Check> read_check(const toml::node& n, std::string_view key, bool health);
  bool read_check_target(Check& check, std::string_view kind, const toml::node& n, const std::string& label);

  // Typed readers: the value, or nullopt after recording why not.
  std::optional<std::string> read_string(const toml::node& n, std::string_view key);
  std::optional<std::string> read_absolute_path(const toml::node& n, std::string_view key);
  std::optional<std::string> read_name(const toml::node& n, std::string_view key);
  std::optional<bool> read_bool(const toml::node& n, std::string_view key);
  std::optional<int64_t> read_int(const toml::node& n, std::string_view key, int64_t min, int64_t max);
  std::optional<Duration> read_duration(const toml::node& n, std::string_view key, bool positive = false);
  std::optional<uint64_t> read_size(const toml::node& n, std::string_view key);
  std::optional<int> read_signal(const toml::node& n, std::string_view key);
  bool read_string_array(const toml::node& n, std::string_view key, std::vector<std::string>& out,
                         std::vector<const toml::node*>* element_nodes = nullptr);
  std::optional<std::string> read_choice(const toml::node& n, std::string_view key,
                                         std::initializer_list<std::string_view> choices);
  const toml::table* read_table(const toml::node& n, std::string_view key);
  bool read_limit(rlim_t& limit, const toml::node& n, const std::string& label);
  std::optional<std::string> read_log_path(const toml::node& n, std::string_view key);

  // Pass 2: the system.
  void check_system(const Draft& draft, bool is_service);
  void check_executable(const std::string& program, const toml::node& where, const Draft& draft);
  void check_env_file(const std::string& path, const toml::node& where);

  // Pass 3: the services together.
  void check_after(const std::vector<Draft>& drafts);
  void check_cycles(const std::vector<Draft>& drafts);
  void check_listen_conflicts(const std::vector<Draft>& drafts);

  std::string path_;
  LoadOptions options_;
  Errors errors_;
  Config config_;
};

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
    {"resources", &Loader::key_resources},
    {"sandbox", &Loader::key_sandbox},
};

// toml++ keeps tables sorted by key; the operator's order is the order of positions.
std::vector<std::pair<std::string_view, const toml::node*>> in_file_order(const toml::table& table) {
  std::vector<std::pair<std::string_view, const toml::node*>> items;
  for (auto&& [key, node] : table) items.emplace_back(key.str(), &node);
  std::stable_sort(items.begin(), items.end(), [](const auto& a, const auto& b) {
    const auto& pa = a.second->source().begin;
    const auto& pb = b.second->source().begin;
    return std::tie(pa.line, pa.column) < std::tie(pb.line, pb.column);
  });
  return items;
}

LoadResult Loader::run(const toml::table& root) {
  config_.path = path_;
  const toml::table* defaults = nullptr;
  const toml::table* services = nullptr;
  static constexpr std::string_view kTopLevel[] = {"supervisor", "defaults", "service"};
  for (auto [key, node] : in_file_order(root)) {
    if (key == "supervisor") {
      load_supervisor(*node);
    } else if (key == "defaults") {
      defaults = read_table(*node, "defaults");
    } else if (key == "service") {
      services = read_table(*node, "service");
    } else {
      errors_.at(*node, std::string(node->is_table() ? "unknown table " : "unknown key ") + quoted(key) +
                            suggestion(key, kTopLevel));
    }
  }

  // [defaults] is typed (and its errors reported) once, then copied into every service.
  Draft base;
  if (defaults) {
    apply_keys(base, *defaults, "[defaults]");
    check_system(base, /*is_service=*/false);
  }
  std::vector<Draft> drafts;
  if (services) drafts = load_services(*services, base);

  check_after(drafts);
  check_cycles(drafts);
  check_listen_conflicts(drafts);

  LoadResult result;
  result.errors = errors_.sorted();
  if (result.errors.empty()) {
    for (auto& d : drafts) config_.services.push_back(std::move(d.cfg));
    result.config = std::move(config_);
  }
  return result;
}

std::vector<Draft> Loader::load_services(const toml::table& services, const Draft& base) {
  std::vector<Draft> drafts;
  for (auto [name, node] : in_file_order(services)) {
    const toml::table* table = node->as_table();
    if (!table) {
      errors_.at(*node, "service " + quoted(name) + " must be a table, not " + std::string(type_name(*node)));
      continue;
    }
    check_service_name(name, *node);
    Draft draft = base;
    draft.cfg.name = std::string(name);
    draft.cfg.pos = errors_.pos_of(*node);
    apply_keys(draft, *table, "service " + quoted(name));
    finish_service(draft, *table);
    check_system(draft, /*is_service=*/true);
    drafts.push_back(std::move(draft));
  }
  return drafts;
}

void Loader::check_service_name(std::string_view name, const toml::node& where) {
  if (!is_valid_service_name(name)) {
    errors_.at(where, "invalid service name " + quoted(name) +
                          " (use up to 64 letters, digits, '_', '.' or '-', starting with a letter, digit or '_')");
  } else if (name == "all") {
    errors_.at(where, "service name 'all' is reserved (superctl uses it for every service)");
  }
}

// ---------------------------------------------------------------------------------------
// Typed readers.

std::optional<std::string> Loader::read_string(const toml::node& n, std::string_view key) {
  const auto* value = n.as_string();
  if (!value) {
    errors_.at(n, "'" + std::string(key) + "' must be a string, not " + std::string(type_name(n)));
    return std::nullopt;
  }
  // TOML allows "\u0000"; no path, name or argument handed to the kernel can hold one.
  if (value->get().find('\0') != std::string::npos) {
    errors_.at(n, "'" + std::string(key) + "' must not contain a NUL character");
    return std::nullopt;
  }
  return value->get();
}

std::optional<std::string> Loader::read_absolute_path(const toml::node& n, std::string_view key) {
  auto s = read_string(n, key);
  if (s && !is_absolute(*s)) {
    errors_.at(n, "'" + std::string(key) + "' must be an absolute path, not " + quoted(*s));
    return std::nullopt;
  }
  return s;
}

// A user or group name: non-empty (leaving the key out is how to mean "superd's own").
std::optional<std::string> Loader::read_name(const toml::node& n, std::string_view key) {
  auto s = read_string(n, key);
  if (s && s->empty()) {
    errors_.at(n, "'" + std::string(key) + "' must not be empty");
    return std::nullopt;
  }
  return s;
}

std::optional<bool> Loader::read_bool(const toml::node& n, std::string_view key) {
  if (const auto* value = n.as_boolean()) return value->get();
  errors_.at(n, "'" + std::string(key) + "' must be a boolean, not " + std::string(type_name(n)));
  return std::nullopt;
}

std::optional<int64_t> Loader::read_int(const toml::node& n, std::string_view key, int64_t min, int64_t max) {
  const auto* value = n.as_integer();
  if (!value) {
    errors_.at(n, "'" + std::string(key) + "' must be an integer, not " + std::string(type_name(n)));
    return std::nullopt;
  }
  int64_t v = value->get();
  if (v < min) {
    errors_.at(n, "'" + std::string(key) + "' must be at least " + std::to_string(min) + ", not " + std::to_string(v));
    return std::nullopt;
  }
  if (v > max) {
    errors_.at(n, "'" + std::string(key) + "' must be at most " + std::to_string(max) + ", not " + std::to_string(v));
    return std::nullopt;
  }
  return v;
}

std::optional<Duration> Loader::read_duration(const toml::node& n, std::string_view key, bool positive) {
  const std::string label = "'" + std::string(key) + "'";
  std::optional<Duration> d;
  if (const auto* i = n.as_integer()) {
    int64_t seconds = i->get();
    if (seconds < 0) {
      errors_.at(n, label + " must not be negative");
      return std::nullopt;
    }
    // Compared in seconds first, so the conversion below cannot overflow.
    if (seconds > std::chrono::duration_cast<std::chrono::seconds>(kMaxDuration).count()) {
      errors_.at(n, label + " is longer than the maximum of " + format_duration(kMaxDuration));
      return std::nullopt;
    }
    d = std::chrono::seconds(seconds);
  } else if (const auto* s = n.as_string()) {
    std::string why;
    d = parse_duration(s->get(), &why);
    if (!d) {
      errors_.at(n, "invalid duration " + quoted(s->get()) + " for " + label + ": " + why);
      return std::nullopt;
    }
    if (*d > kMaxDuration) {
      errors_.at(n, label + " is longer than the maximum of " + format_duration(kMaxDuration));
      return std::nullopt;
    }
  } else {
    errors_.at(n, label + " must be a duration (a string like \"30s\" or integer seconds), not " +
                      std::string(type_name(n)));
    return std::nullopt;
  }
  if (positive && d->count() == 0) {
    errors_.at(n, label + " must be greater than zero");
    return std::nullopt;
  }
  return d;
}

std::optional<uint64_t> Loader::read_size(const toml::node& n, std::string_view key) {
  const std::string label = "'" + std::string(key) + "'";
  if (const auto* i = n.as_integer()) {
    if (i->get() < 0) {
      errors_.at(n, label + " must not be negative");
      return std::nullopt;
    }
    return static_cast<uint64_t>(i->get());
  }
  if (const auto* s = n.as_string()) {
    std::string why;
    auto size = parse_size(s->get(), &why);
    if (!size) errors_.at(n, "invalid size " + quoted(s->get()) + " for " + label + ": " + why);
    return size;
  }
  errors_.at(n, label + " must be a size (a string like \"50MB\" or integer bytes), not " + std::string(type_name(n)));
  return std::nullopt;
}

std::optional<int> Loader::read_signal(const toml::node& n, std::string_view key) {
  const std::string label = "'" + std::string(key) + "'";
  if (const auto* i = n.as_integer()) {
    if (i->get() < 1 || i->get() > 64) {
      errors_.at(n, "invalid signal " + std::to_string(i->get()) + " for " + label + ": signal numbers are 1 to 64");
      return std::nullopt;
    }
    return static_cast<int>(i->get());
  }
  if (const auto* s = n.as_string()) {
    std::string why;
    auto signo = parse_signal(s->get(), &why);
    if (!signo) errors_.at(n, "invalid signal " + quoted(s->get()) + " for " + label + ": " + why);
    return signo;
  }
  errors_.at(n, label + " must be a signal name or number, not " + std::string(type_name(n)));
  return std::nullopt;
}

// The strings of an array (and their nodes). False, after reporting, when it is not an
// array of strings; the strings that were found are still returned, so checks of their
// own (listen addresses) run too and one bad element does not hide another.
bool Loader::read_string_array(const toml::node& n, std::string_view key, std::vector<std::string>& out,
                               std::vector<const toml::node*>* element_nodes) {
  const auto* array = n.as_array();
  if (!array) {
    errors_.at(n, "'" + std::string(key) + "' must be an array of strings, not " + std::string(type_name(n)));
    return false;
  }
  bool ok = true;
  for (const toml::node& element : *array) {
    if (!element.is_string()) {
      errors_.at(element, "'" + std::string(key) + "' must be an array of strings, but this is " +
                              std::string(type_name(element)));
      ok = false;
      continue;
    }
    auto s = read_string(element, key);
    if (!s) {
      ok = false;
      continue;
    }
    out.push_back(std::move(*s));
    if (element_nodes) element_nodes->push_back(&element);
  }
  return ok;
}

std::optional<std::string> Loader::read_choice(const toml::node& n, std::string_view key,
                                               std::initializer_list<std::string_view> choices) {
  auto s = read_string(n, key);
  if (!s) return std::nullopt;
  if (std::find(choices.begin(), choices.end(), *s) != choices.end()) return s;
  std::string expected;
  size_t i = 0;
  for (auto c : choices) {
    if (i > 0) expected += (i + 1 == choices.size()) ? " or " : ", ";
    expected += c;
    ++i;
  }
  errors_.at(n, "invalid '" + std::string(key) + "' value " + quoted(*s) + " (expected " + expected + ")");
  return std::nullopt;
}

const toml::table* Loader::read_table(const toml::node& n, std::string_view key) {
  const auto* table = n.as_table();
  if (!table) errors_.at(n, "'" + std::string(key) + "' must be a table, not " + std::string(type_name(n)));
  return table;
}

// ---------------------------------------------------------------------------------------
// [supervisor]

void Loader::load_supervisor(const toml::node& node) {
  const toml::table* table = read_table(node, "supervisor");
  if (!table) return;
  static constexpr std::string_view kKeys[] = {"socket", "socket_group", "state_dir", "log_dir", "log_level",
                                               "cgroup"};
  SupervisorConfig& sup = config_.supervisor;
  for (auto [key, n] : in_file_order(*table)) {
    if (key == "socket") {
      auto s = read_absolute_path(*n, key);
      if (s && s->size() > kMaxSocketPath) {
        errors_.at(*n, "'socket' is longer than the " + std::to_string(kMaxSocketPath) +
                           " bytes a Unix socket path can have");
      } else if (s) {
        sup.socket = *s;
      }
    } else if (key == "socket_group") {
      if (auto s = read_string(*n, key)) {
        sup.socket_group = *s;
        if (options_.check_system && !s->empty() && !group_exists(*s)) errors_.at(*n, "unknown group " + quoted(*s));
      }
    } else if (key == "state_dir") {
      if (auto s = read_absolute_path(*n, key)) sup.state_dir = *s;
    } else if (key == "log_dir") {
      if (auto s = read_absolute_path(*n, key)) sup.log_dir = *s;
    } else if (key == "log_level") {
      if (auto s = read_choice(*n, key, {"trace", "debug", "info", "warn", "error", "critical", "off"})) {
        sup.log_level = *s;
      }
    } else if (key == "cgroup") {
      auto sink = [this](const toml::node& where, std::string message) { errors_.at(where, std::move(message)); };
      if (auto setting = load_cgroup_setting(*n, sink)) sup.cgroup = *setting;
    } else {
      errors_.at(*n, "unknown key " + quoted(key) + " in [supervisor]" + suggestion(key, kKeys));
    }
  }
}

// ---------------------------------------------------------------------------------------
// Service keys.

void Loader::apply_keys(Draft& draft, const toml::table& table, std::string_view where) {
  for (auto [key, node] : in_file_order(table)) {
    const ServiceKey* found = nullptr;
    for (const auto& k : kServiceKeys) {
      if (k.name == key) found = &k;
    }
    if (!found) {
      std::vector<std::string_view> names;
      for (const auto& k : kServiceKeys) names.push_back(k.name);
      errors_.at(*node, "unknown key " + quoted(key) + " in " + std::string(where) + suggestion(key, names));
      continue;
    }
    draft.given.insert(std::string(key));
    // Only an accepted value is remembered: later passes check values, and a refused
    // one was reported already.
    if ((this->*found->handler)(draft, *node)) {
      draft.nodes[std::string(key)] = node;
    } else {
      draft.nodes.erase(std::string(key));
    }
  }
}

// What needs the whole service: a command, and log paths (which default from the name).
void Loader::finish_service(Draft& d, const toml::table& table) {
  ServiceConfig& cfg = d.cfg;
  if (!d.given.count("command")) {
    errors_.at(table, "service " + quoted(cfg.name) + " has no 'command'");
  }
  // key_stdout/key_stderr left the raw value; "" means not given.
  if (cfg.stdout_path.empty()) cfg.stdout_path = cfg.name + ".log";
  if (cfg.stderr_path.empty()) cfg.stderr_path = cfg.stdout_path;
  const std::string& log_dir = config_.supervisor.log_dir;
  if (!is_absolute(cfg.stdout_path)) cfg.stdout_path = join_path(log_dir, cfg.stdout_path);
  if (!is_absolute(cfg.stderr_path)) cfg.stderr_path = join_path(log_dir, cfg.stderr_path);
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

// Stores *value into *field when present; reports whether it was.
template <typename T, typename U>
bool assign(T& field, std::optional<U>&& value) {
  if (!value) return false;
  field = static_cast<T>(std::move(*value));
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
      static constexpr std::string_view kNames[] = {"nofile", "nproc", "core", "memlock", "as", "fsize",
                                                    "stack", "cpu", "data", "rss", "msgqueue", "nice",
                                                    "rtprio", "sigpending", "locks", "rttime"};
      errors_.at(*value, "unknown limit " + quoted(key) + suggestion(key, kNames));
      ok = false;
      continue;
    }
    ok = read_limit(d.cfg.limits[*resource], *value, "limits." + std::string(key)) && ok;
  }
  return ok;
}

// A limit value: a non-negative integer, or "infinity" (systemd's word; "unlimited",
// ulimit's, is accepted too).
bool Loader::read_limit(rlim_t& limit, const toml::node& n, const std::string& label) {
  if (const auto* s = n.as_string()) {
    if (s->get() == "infinity" || s->get() == "unlimited") {
      limit = RLIM_INFINITY;
      return true;
    }
    errors_.at(n, "invalid '" + label + "' value " + quoted(s->get()) + " (expected an integer or \"infinity\")");
    return false;
  }
  if (!n.is_integer()) {
    errors_.at(n, "'" + label + "' must be an integer or \"infinity\", not " + std::string(type_name(n)));
    return false;
  }
  return assign(limit, read_int(n, label, 0, INT64_MAX));
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
      static constexpr std::string_view kKeys[] = {"initial", "max"};
      errors_.at(*value, "unknown key " + quoted(key) + " in 'backoff'" + suggestion(key, kKeys));
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
  Check check;
  bool ok = true;
  const toml::node* kind_node = nullptr;
  std::string kind_name;
  for (auto [name, value] : in_file_order(*table)) {
    const std::string label = k + "." + std::string(name);
    if (name == "tcp" || name == "http" || name == "exec" || name == "log" ||
        (name == "notify" && !health)) {
      if (kind_node) {
        errors_.at(*value, "'" + k + "' has both '" + kind_name + "' and '" + std::string(name) +
                               "'; a check has exactly one kind");
        ok = false;
        continue;
      }
      kind_node = value;
      kind_name = std::string(name);
      if (name == "notify") {
        // { notify = true, timeout = "30s" }: READY=1 on NOTIFY_SOCKET, with a deadline.
        const auto* flag = value->as_boolean();
        if (!flag || !flag->get()) {
          errors_.at(*value, "'" + label + "' must be true");
          ok = false;
        }
        check.kind = Check::Kind::notify;
        continue;
      }
      ok = read_check_target(check, name, *value, label) && ok;
    } else if (name == "timeout") {
      if (auto v = read_duration(*value, label, /*positive=*/true)) check.timeout = *v; else ok = false;
    } else if (name == "interval") {
      if (auto v = read_duration(*value, label, /*positive=*/true)) check.interval = *v; else ok = false;
    } else if (name == "failures" && health) {
      if (auto v = read_int(*value, label, 1, INT_MAX)) check.failures = static_cast<int>(*v); else ok = false;
    } else {
      std::vector<std::string_view> known = {"tcp", "http", "exec", "log", "timeout", "interval"};
      if (health) known.push_back("failures");
      errors_.at(*value, "unknown key " + quoted(name) + " in '" + k + "'" + suggestion(name, known));
      ok = false;
    }
  }
  if (!kind_node) {
    errors_.at(n, "'" + k + "' needs one of " +
                      std::string(health ? "" : "'notify', ") + "'tcp', 'http', 'exec' or 'log'");
    return std::nullopt;
  }
  if (!ok) return std::nullopt;
  return check;
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

bool Loader::key_after(Draft& d, const toml::node& n) {
  std::vector<std::string> names;
  std::vector<const toml::node*> nodes;
  if (!read_string_array(n, "after", names, &nodes)) return false;
  d.cfg.after = std::move(names);
  d.after_nodes = std::move(nodes);
  return true;
}

// The raw value is kept here and resolved against log_dir in finish_service.
bool Loader::key_stdout(Draft& d, const toml::node& n) { return assign(d.cfg.stdout_path, read_log_path(n, "stdout")); }

bool Loader::key_stderr(Draft& d, const toml::node& n) { return assign(d.cfg.stderr_path, read_log_path(n, "stderr")); }

std::optional<std::string> Loader::read_log_path(const toml::node& n, std::string_view key) {
  auto s = read_string(n, key);
  if (s && s->empty()) {
    errors_.at(n, "'" + std::string(key) + "' must not be empty");
    return std::nullopt;
  }
  return s;
}

bool Loader::key_log_max_bytes(Draft& d, const toml::node& n) {
  return assign(d.cfg.log_max_bytes, read_size(n, "log_max_bytes"));
}

bool Loader::key_log_backups(Draft& d, const toml::node& n) {
  return assign(d.cfg.log_backups, read_int(n, "log_backups", 0, INT_MAX));
}

bool Loader::key_resources(Draft& d, const toml::node& n) {
  auto sink = [this](const toml::node& where, std::string message) { errors_.at(where, std::move(message)); };
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

// ---------------------------------------------------------------------------------------
// Pass 2: the system. Run on [defaults] too (minus the command), so a bad value there is
// reported even with no service; the duplicates this causes are merged by Errors.

void Loader::check_system(const Draft& d, bool is_service) {
  if (!options_.check_system) return;
  const ServiceConfig& cfg = d.cfg;
  if (const auto* n = d.node("user"); n && !cfg.user.empty() && !user_exists(cfg.user)) {
    errors_.at(*n, "unknown user " + quoted(cfg.user));
  }
  if (const auto* n = d.node("group"); n && !cfg.group.empty() && !group_exists(cfg.group)) {
    errors_.at(*n, "unknown group " + quoted(cfg.group));
  }
  if (const auto* n = d.node("directory"); n && !cfg.directory.empty()) {
    struct stat st {};
    if (stat(cfg.directory.c_str(), &st) != 0) {
      errors_.at(*n, errno == ENOENT ? "directory " + quoted(cfg.directory) + " does not exist"
                                     : "directory " + quoted(cfg.directory) + ": " + std::strerror(errno));
    } else if (!S_ISDIR(st.st_mode)) {
      errors_.at(*n, quoted(cfg.directory) + " is not a directory");
    }
  }
  if (const auto* n = d.node("env_file"); n && !cfg.env_file.empty()) check_env_file(cfg.env_file, *n);
  if (!is_service) return;

  if (const auto* n = d.node("command"); n && !cfg.command.empty()) {
    check_executable(cfg.command.front(), *n->as_array()->get(0), d);
  }
  // An exec probe fails the same way a command does; say so now rather than at runtime.
  for (std::string_view key : {"ready", "health"}) {
    const toml::node* n = d.node(key);
    const toml::table* table = n ? n->as_table() : nullptr;
    const toml::node* exec = table ? table->get("exec") : nullptr;
    const toml::array* argv = exec ? exec->as_array() : nullptr;
    if (!argv || argv->empty()) continue;
    const auto* program = argv->get(0)->as_string();
    if (program && !program->get().empty() && program->get().find('\0') == std::string::npos) {
      check_executable(program->get(), *argv->get(0), d);
    }
  }
}

// command[0]: an absolute path must be an executable regular file; a bare name must be
// one in the service's PATH (its environment's, else the default the spawner uses).
void Loader::check_executable(const std::string& program, const toml::node& where, const Draft& d) {
  if (is_absolute(program)) {
    struct stat st {};
    if (stat(program.c_str(), &st) != 0) {
      errors_.at(where, errno == ENOENT ? quoted(program) + " does not exist"
                                        : quoted(program) + ": " + std::strerror(errno));
    } else if (!S_ISREG(st.st_mode)) {
      errors_.at(where, quoted(program) + " is not a regular file");
    } else if (access(program.c_str(), X_OK) != 0) {
      errors_.at(where, quoted(program) + " is not executable");
    }
    return;
  }
  if (program.find('/') != std::string::npos) return;  // refused while typing
  auto env_path = d.cfg.environment.find("PATH");
  std::string search = env_path != d.cfg.environment.end() ? env_path->second : std::string(kDefaultPath);
  std::string_view rest = search;
  while (true) {
    size_t colon = rest.find(':');
    std::string_view dir = rest.substr(0, colon);
    if (!dir.empty() && is_executable_file(join_path(dir, program))) return;
    if (colon == std::string_view::npos) break;
    rest.remove_prefix(colon + 1);
  }
  errors_.at(where, quoted(program) + " not found in PATH (" + search + ")");
}

void Loader::check_env_file(const std::string& path, const toml::node& where) {
  std::string why;
  auto text = read_small_file(path, &why);
  if (!text) {
    errors_.at(where, "env_file " + quoted(path) + " " + why);
    return;
  }
  const SourcePos anchor = errors_.pos_of(where);
  for (const auto& e : parse_env_file(*text).errors) {
    errors_.add({{path, e.line, 1}, e.message}, anchor);
  }
}

// ---------------------------------------------------------------------------------------
// Pass 3: the services together.

void Loader::check_after(const std::vector<Draft>& drafts) {
  std::vector<std::string> names;
  for (const auto& d : drafts) names.push_back(d.cfg.name);
  std::set<std::string, std::less<>> known(names.begin(), names.end());
  for (const auto& d : drafts) {
    for (size_t i = 0; i < d.cfg.after.size(); ++i) {
      const std::string& dep = d.cfg.after[i];
      if (!known.count(dep)) {
        errors_.at(*d.after_nodes[i], "unknown service " + quoted(dep) + " in 'after'" + suggestion(dep, names));
      }
    }
  }
}

// Depth-first search without recursion (a fuzzer can chain thousands of services). Every
// back edge closes one cycle; it is reported from the service that comes first in the
// file, at its `after` entry that continues the cycle.
void Loader::check_cycles(const std::vector<Draft>& drafts) {
  std::map<std::string_view, size_t> index;
  for (size_t i = 0; i < drafts.size(); ++i) index.emplace(drafts[i].cfg.name, i);
  struct Edge {
    size_t to;
    const toml::node* node;
  };
  std::vector<std::vector<Edge>> edges(drafts.size());
  for (size_t i = 0; i < drafts.size(); ++i) {
    const auto& d = drafts[i];
    for (size_t j = 0; j < d.cfg.after.size(); ++j) {
      auto it = index.find(d.cfg.after[j]);
      if (it != index.end()) edges[i].push_back({it->second, d.after_nodes[j]});
    }
  }

  enum class Color { white, grey, black };
  std::vector<Color> color(drafts.size(), Color::white);
  std::vector<size_t> depth(drafts.size(), 0);  // place on the current path, while grey
  std::vector<size_t> path;
  std::vector<size_t> next_edge;
  auto report = [&](std::vector<size_t> cycle) {
    auto first = std::min_element(cycle.begin(), cycle.end());
    std::rotate(cycle.begin(), first, cycle.end());
    std::string message = "dependency cycle:";
    for (size_t s : cycle) message += " " + drafts[s].cfg.name + " ->";
    message += " " + drafts[cycle.front()].cfg.name;
    size_t second = cycle.size() > 1 ? cycle[1] : cycle[0];
    for (const Edge& e : edges[cycle.front()]) {
      if (e.to == second) {
        errors_.at(*e.node, message);
        return;
      }
    }
  };
  for (size_t root = 0; root < drafts.size(); ++root) {
    if (color[root] != Color::white) continue;
    color[root] = Color::grey;
    path.assign(1, root);
    next_edge.assign(1, 0);
    while (!path.empty()) {
      size_t v = path.back();
      if (next_edge.back() == edges[v].size()) {
        color[v] = Color::black;
        path.pop_back();
        next_edge.pop_back();
        continue;
      }
      size_t w = edges[v][next_edge.back()++].to;
      if (color[w] == Color::white) {
        color[w] = Color::grey;
        depth[w] = path.size();
        path.push_back(w);
        next_edge.push_back(0);
      } else if (color[w] == Color::grey) {
        report(std::vector<size_t>(path.begin() + static_cast<std::ptrdiff_t>(depth[w]), path.end()));
      }
    }
  }
}

// Two services cannot both own one listening socket.
void Loader::check_listen_conflicts(const std::vector<Draft>& drafts) {
  std::map<std::string, std::string, std::less<>> owner;
  for (const auto& d : drafts) {
    for (size_t i = 0; i < d.cfg.listen.size(); ++i) {
      const std::string& address = d.cfg.listen[i];
      auto [it, inserted] = owner.emplace(address, d.cfg.name);
      if (!inserted) {
        errors_.at(*d.listen_nodes[i], quoted(address) + " is already in 'listen' of service " + quoted(it->second));
      }
    }
  }
}

// toml++ says "cannot redefine existing table 'service.app'" for a second [service.app];
// name the real problem.
std::string describe_syntax_error(std::string_view description) {
  constexpr std::string_view kRedefine = "cannot redefine existing table 'service.";
  size_t at = description.find(kRedefine);
  if (at != std::string_view::npos) {
    std::string_view name = description.substr(at + kRedefine.size());
    name = name.substr(0, name.find('\''));
    if (!name.empty() && name.find('.') == std::string_view::npos) {
      return "duplicate service '" + std::string(name) + "' (a [service." + std::string(name) +
             "] table is already defined above)";
    }
  }
  return std::string(description);
}

LoadResult syntax_error(const std::string& path, const toml::parse_error& e) {
  SourcePos pos = Errors(path).pos_of(e.source().begin);
  return {std::nullopt, {ConfigError{pos, describe_syntax_error(e.description())}}};
}

}  // namespace

LoadResult load_config_string(std::string_view text, const std::string& path, const LoadOptions& options) {
  try {
    toml::table root;
    try {
      root = toml::parse(text, std::string_view(path));
    } catch (const toml::parse_error& e) {
      return syntax_error(path, e);
    }
    return Loader(path, options).run(root);
  } catch (const std::exception& e) {
    // Not expected; but a supervisor that cannot read its config must say so, not abort.
    return {std::nullopt, {ConfigError{{path, 0, 0}, std::string("internal error while loading: ") + e.what()}}};
  } catch (...) {
    return {std::nullopt, {ConfigError{{path, 0, 0}, "internal error while loading"}}};
  }
}

LoadResult load_config_file(const std::string& path, const LoadOptions& options) {
  std::string why;
  std::optional<std::string> text;
  try {
    text = read_small_file(path, &why);
  } catch (const std::exception& e) {
    why = e.what();
  }
  if (!text) return {std::nullopt, {ConfigError{{path, 0, 0}, "config file " + why}}};
  return load_config_string(*text, path, options);
}

}  // namespace superd
