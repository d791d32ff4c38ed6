// The config loader's inside, shared by its files (nothing else includes this). The
// loader makes three passes over the parsed document:
//
//   1. typing (config_load.cc: the document and [supervisor]; config_readers.cc: one
//      TOML value to one typed value; config_service_keys.cc and config_checks.cc: the
//      keys of a service): every key is checked against the model and converted, and
//      addresses, URLs and regexes become the typed values of config.h, host names
//      resolved. [defaults] is converted once into a template service that each service
//      copies before its own keys override it;
//   2. the system (config_system.cc, LoadOptions::check_system): users, groups,
//      executables, directories and env files, each checked on the value a service ends
//      up with;
//   3. the services as a whole (config_cross.cc): `after` names, dependency cycles,
//      shared listen sockets.
//
// No pass stops at a problem: each is recorded with the position of the TOML node that
// holds the offending value and the pass goes on, so `superd --check` shows everything
// at once. Nothing may throw out of the loader (it is fuzzed): toml++ reports syntax
// errors by exception, which is caught, and every number is range-checked before use.
#pragma once

#include <algorithm>
#include <climits>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <toml++/toml.h>
#include <utility>
#include <variant>
#include <vector>

#include "base/safe_path.h"
#include "supervisor/config.h"
#include "supervisor/config_load.h"

namespace superd::config_internal {

// What `map` holds for `key`: made by `make()` the first time it is asked for.
template <class Map, class Make>
const typename Map::mapped_type& remembered(Map& map, const typename Map::key_type& key, Make make) {
  auto [it, fresh] = map.try_emplace(key);
  if (fresh) it->second = make();
  return it->second;
}

constexpr size_t kMaxNameLength = 64;
constexpr size_t kMaxRegexLength = 1024;
// Durations end up added to steady_clock time points counted in nanoseconds; capping
// them at ten years keeps that arithmetic far from overflow.
constexpr Duration kMaxDuration = std::chrono::hours(24 * 365 * 10);

// The names the loader accepts besides the service keys (kServiceKeys), in the order
// their "did you mean" suggestions are tried. known_config_keys() lists them all.
inline constexpr std::string_view kTopLevelKeys[] = {"supervisor", "defaults", "service"};
inline constexpr std::string_view kSupervisorKeys[] = {"socket",  "socket_group", "state_dir",
                                                       "log_dir", "log_level",    "cgroup",
                                                       "shutdown_timeout", "journal_socket",
                                                       "allow_group_writable"};
inline constexpr std::string_view kBackoffKeys[] = {"initial", "max"};
inline constexpr std::string_view kLimitNames[] = {"nofile", "nproc", "core", "memlock", "as", "fsize",
                                                   "stack", "cpu", "data", "rss", "msgqueue", "nice",
                                                   "rtprio", "sigpending", "locks", "rttime"};
// ready and health: one kind (notify for ready only), then options (failures for health
// only).
inline constexpr std::string_view kCheckKeys[] = {"tcp", "http", "exec", "log", "timeout", "interval"};

// ---------------------------------------------------------------------------------------
// Text for messages (config_messages.cc).

// A user's value inside a message: control characters escaped so a terminal shows them,
// and long values cut so one bad line does not flood the output.
std::string quoted(std::string_view s);
std::string_view type_name(const toml::node& node);
size_t edit_distance(std::string_view a, std::string_view b);

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

inline bool is_absolute(std::string_view path) { return !path.empty() && path.front() == '/'; }
std::string join_path(std::string_view dir, std::string_view name);

// In the user and group databases (config_system.cc).
bool user_exists(const std::string& name);
bool group_exists(const std::string& name);

// toml++ keeps tables sorted by key; the operator's order is the order of positions.
std::vector<std::pair<std::string_view, const toml::node*>> in_file_order(const toml::table& table);

// Stores *value into field when present; reports whether it was.
template <typename T, typename U>
bool assign(T& field, std::optional<U>&& value) {
  if (!value) return false;
  field = static_cast<T>(std::move(*value));
  return true;
}

// ---------------------------------------------------------------------------------------
// Error collection (config_messages.cc).

class Errors {
 public:
  explicit Errors(std::string file) : file_(std::move(file)) {}

  SourcePos pos_of(const toml::node& node) const { return pos_of(node.source().begin); }
  SourcePos pos_of(const toml::source_position& p) const;

  void at(const toml::node& node, std::string message) { at(pos_of(node), std::move(message)); }
  void at(const SourcePos& pos, std::string message) { add({pos, std::move(message)}, pos); }

  // An error in another file (an env_file) is listed where the config refers to it.
  void add(ConfigError error, const SourcePos& anchor) {
    entries_.push_back({std::move(error), anchor.line, anchor.col, entries_.size()});
  }

  // In file order; an error found twice (a [defaults] value every service inherits) once.
  std::vector<ConfigError> sorted();

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
  // Each key written (accepted or not) and the node of its accepted value (null when it
  // was refused), in one small array: a key is one of kServiceKeys' names, so no entry
  // owns a string. Two trees of strings were four allocations per service of two keys.
  struct KeyNode {
    std::string_view key;
    const toml::node* node;
  };
  std::vector<KeyNode> keys;
  std::vector<const toml::node*> after_nodes;   // one per cfg.after entry
  std::vector<const toml::node*> listen_nodes;  // one per cfg.listen entry
  // The table has `instances` (config_template_load.cc): its drafts become one per
  // instance; `instances` is empty when its value was refused.
  bool is_template = false;
  std::optional<int> instances;

  const toml::node* node(std::string_view key) const {
    const KeyNode* k = find(key);
    return k ? k->node : nullptr;
  }
  bool given(std::string_view key) const { return find(key) != nullptr; }
  // `key` is a kServiceKeys name (it must outlive the Draft); `node` null: refused.
  void set(std::string_view key, const toml::node* node) {
    for (KeyNode& k : keys) {
      if (k.key == key) {
        k.node = node;
        return;
      }
    }
    if (keys.empty()) keys.reserve(4);
    keys.push_back({key, node});
  }

 private:
  const KeyNode* find(std::string_view key) const {
    for (const KeyNode& k : keys) {
      if (k.key == key) return &k;
    }
    return nullptr;
  }
};

class Loader {
 public:
  Loader(const std::string& path, const LoadOptions& options)
      : path_(path), options_(options), errors_(path), warnings_(path) {}

  LoadResult run(const toml::table& root);

  using KeyHandler = bool (Loader::*)(Draft&, const toml::node&);  // false: value refused
  struct ServiceKey {
    std::string_view name;
    KeyHandler handler;
  };
  static const ServiceKey kServiceKeys[];
  static std::vector<std::string_view> service_key_names();  // of kServiceKeys, in its order

 private:
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
  bool key_log_timestamps(Draft& d, const toml::node& n);
  bool read_log_target(const toml::node& n, std::string_view key, LogTarget& target, std::string& path);
  bool key_critical(Draft& d, const toml::node& n);
  bool key_resources(Draft& d, const toml::node& n);
  bool key_instances(Draft& d, const toml::node& n);

  // Instances (config_template_load.cc), between passes 1 and 2: each table with
  // `instances` becomes a ServiceTemplate in the config and one draft per instance.
  void expand_instances(std::vector<Draft>& drafts);
  ServiceTemplate make_template(const Draft& draft);
  void check_no_instance_token(const Draft& draft);
  // A typed value's text while pass 1 types a template: "{instance}" read as instance 0
  // (each instance is parsed again from its own text). Outside a template "{instance}"
  // is an error. False after reporting.
  bool instance_text(std::string& text, const toml::node& n, std::string_view label);
  bool host_depends_on_instance(std::string_view kind, const std::string& text, const toml::node& n,
                                const std::string& label);
  bool key_sandbox(Draft& d, const toml::node& n);

  // ready and health (config_checks.cc).
  struct CheckDraft {
    std::string key;  // "ready" or "health"
    bool health;
    Check check;
    const toml::node* kind_node = nullptr;  // the one kind given so far
    std::string kind_name;
    bool ok = true;
  };
  std::optional<Check> read_check(const toml::node& n, std::string_view key, bool health);
  void read_check_entry(CheckDraft& c, std::string_view name, const toml::node& value);
  bool read_check_target(Check& check, std::string_view kind, const toml::node& n, const std::string& label);
  bool read_tcp_target(Check& check, const std::string& text, const toml::node& n, const std::string& label);
  bool read_http_target(Check& check, const std::string& text, const toml::node& n, const std::string& label);
  bool read_log_target(Check& check, std::string text, const toml::node& n, const std::string& label);
  bool resolve(HostPort& hp, const toml::node& n, const std::string& label);

  // Typed readers (config_readers.cc): the value, or nullopt after recording why not.
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

  // Pass 2: the system (config_system.cc).
  void check_system(const Draft& draft, bool is_service);
  void check_directory(const std::string& directory, const toml::node& where);
  void check_exec_probes(const Draft& draft);
  void check_executable(const std::string& program, const toml::node& where, const Draft& draft);
  void check_env_file(const std::string& path, const toml::node& where, const ServiceConfig& cfg);

  // Pass 2, the paths superd opens as root (config_paths.cc, base/safe_path.h): the
  // directories of the socket, state, logs and unix listen sockets, checked once each.
  void load_allow_group_writable(const toml::node& node);
  void check_supervisor_paths();
  void check_service_paths(const Draft& draft);
  bool check_dir(const std::string& what, const std::string& path, const std::string& dir,
                 const SourcePos& where, const std::string& consequence,
                 const std::string& file = "");
  // Pass 3: groups. allow_group_writable must not name a service's group; socket_group
  // should not be one (a warning).
  void check_groups(const std::vector<Draft>& drafts);
  SourcePos supervisor_pos(std::string_view key) const;

  // Pass 3: the services together (config_cross.cc).
  void check_after(const std::vector<Draft>& drafts);
  void check_cycles(const std::vector<Draft>& drafts);
  void check_listen_conflicts(const std::vector<Draft>& drafts);

  std::string path_;
  LoadOptions options_;
  Errors errors_;
  Errors warnings_;
  Config config_;
  bool template_keys_ = false;  // typing the keys of a table with `instances`
  const toml::node* supervisor_table_ = nullptr;
  std::map<std::string, const toml::node*, std::less<>> supervisor_nodes_;  // keys given
  std::map<std::string, const toml::node*> allow_nodes_;  // allow_group_writable entries
  std::set<std::string> checked_dirs_;  // each directory's problems are reported once
  // Pass 2 asks the system once per load, however many services ask the same: a
  // hundred services of one user read the user database once, walk log_dir once.
  std::map<std::string, bool> users_known_, groups_known_;
  std::map<std::string, std::variant<SafeDir, PathProblem>> dirs_opened_;
  std::map<std::string, std::string> programs_checked_;  // program (and PATH) -> problem, "" none
};

}  // namespace superd::config_internal
