// Reading super.toml: the document, [supervisor], the service tables and the order of
// the passes (described in config_loader.h), and the entry points of config_load.h.
#include "supervisor/config_load.h"

#include "base/file_read.h"
#include "supervisor/config_loader.h"
#include "supervisor/config_resources_load.h"
#include "supervisor/config_sandbox_load.h"

namespace superd {
namespace config_internal {
namespace {

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

}  // namespace

LoadResult Loader::run(const toml::table& root) {
  config_.path = path_;
  const toml::table* defaults = nullptr;
  const toml::table* services = nullptr;
  for (auto [key, node] : in_file_order(root)) {
    if (key == "supervisor") {
      load_supervisor(*node);
    } else if (key == "defaults") {
      defaults = read_table(*node, "defaults");
    } else if (key == "service") {
      services = read_table(*node, "service");
    } else {
      errors_.at(*node, std::string(node->is_table() ? "unknown table " : "unknown key ") + quoted(key) +
                            suggestion(key, kTopLevelKeys));
    }
  }

  check_supervisor_paths();  // first: a service's log file in log_dir is reported there
  // [defaults] is typed (and its errors reported) once, then copied into every service.
  Draft base;
  if (defaults) {
    apply_keys(base, *defaults, "[defaults]");
    check_system(base, /*is_service=*/false);
  }
  std::vector<Draft> drafts;
  if (services) drafts = load_services(*services, base);
  expand_instances(drafts);
  for (const Draft& d : drafts) check_system(d, /*is_service=*/true);

  check_after(drafts);
  check_cycles(drafts);
  check_listen_conflicts(drafts);
  check_groups(drafts);

  LoadResult result;
  result.errors = errors_.sorted();
  result.warnings = warnings_.sorted();
  if (result.errors.empty()) {
    config_.services.reserve(drafts.size());
    for (auto& d : drafts) config_.services.push_back(std::move(d.cfg));
    result.config = std::move(config_);
  }
  if (options_.keep_leftovers) result.leftovers = std::make_shared<std::vector<Draft>>(std::move(drafts));
  return result;
}

std::vector<Draft> Loader::load_services(const toml::table& services, const Draft& base) {
  std::vector<Draft> drafts;
  drafts.reserve(services.size());
  for (auto [name, node] : in_file_order(services)) {
    const toml::table* table = node->as_table();
    if (!table) {
      errors_.at(*node, "service " + quoted(name) + " must be a table, not " + std::string(type_name(*node)));
      continue;
    }
    check_service_name(name, *node);
    Draft& draft = drafts.emplace_back(base);  // in place: a Draft is 1.5 KB
    draft.cfg.name = std::string(name);
    draft.cfg.pos = errors_.pos_of(*node);
    draft.is_template = table->contains("instances");
    template_keys_ = draft.is_template;
    apply_keys(draft, *table, "service " + quoted(name));
    template_keys_ = false;
    finish_service(draft, *table);
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
// [supervisor]

void Loader::load_supervisor(const toml::node& node) {
  const toml::table* table = read_table(node, "supervisor");
  if (!table) return;
  supervisor_table_ = &node;
  SupervisorConfig& sup = config_.supervisor;
  for (auto [key, n] : in_file_order(*table)) {
    supervisor_nodes_[std::string(key)] = n;
    if (key == "socket") {
      auto s = read_absolute_path(*n, key);
      if (s && s->size() > kMaxUnixSocketPath) {
        errors_.at(*n, "'socket' is longer than the " + std::to_string(kMaxUnixSocketPath) +
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
      auto sink = [this](const toml::node& where, std::string message) {
        errors_.at(where, std::move(message));
      };
      if (auto setting = load_cgroup_setting(*n, sink)) sup.cgroup = *setting;
    } else if (key == "shutdown_timeout") {
      if (auto d = read_duration(*n, key, /*positive=*/true)) sup.shutdown_timeout = *d;
    } else if (key == "journal_socket") {
      auto s = read_absolute_path(*n, key);
      if (s && s->size() > kMaxUnixSocketPath) {
        errors_.at(*n, "'journal_socket' is longer than the " + std::to_string(kMaxUnixSocketPath) +
                           " bytes a Unix socket path can have");
      } else if (s) {
        sup.journal_socket = *s;
      }
    } else if (key == "allow_group_writable") {
      load_allow_group_writable(*n);
    } else {
      errors_.at(*n, "unknown key " + quoted(key) + " in [supervisor]" + suggestion(key, kSupervisorKeys));
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

}  // namespace config_internal

using config_internal::Loader;
using config_internal::syntax_error;

LoadResult load_config_string(std::string_view text, const std::string& path, const LoadOptions& options) {
  try {
    auto root = std::make_shared<toml::table>();
    try {
      *root = toml::parse(text, std::string_view(path));
    } catch (const toml::parse_error& e) {
      return syntax_error(path, e);
    }
    LoadResult result = Loader(path, options).run(*root);
    if (options.keep_leftovers) {
      result.leftovers = std::make_shared<std::pair<std::shared_ptr<void>, std::shared_ptr<toml::table>>>(
          std::move(result.leftovers), std::move(root));
    } else {
      result.leftovers.reset();
    }
    return result;
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

// From the tables the loader itself checks keys against, so the list cannot drift.
std::vector<std::string> known_config_keys() {
  using namespace config_internal;
  std::vector<std::string> keys(std::begin(kTopLevelKeys), std::end(kTopLevelKeys));
  for (auto k : kSupervisorKeys) keys.push_back("supervisor." + std::string(k));
  for (auto k : Loader::service_key_names()) keys.emplace_back(k);
  for (std::string_view check : {"ready", "health"}) {
    for (auto k : kCheckKeys) keys.push_back(std::string(check) + "." + std::string(k));
  }
  keys.push_back("ready.notify");
  keys.push_back("health.failures");
  for (auto k : kBackoffKeys) keys.push_back("backoff." + std::string(k));
  for (auto k : kLimitNames) keys.push_back("limits." + std::string(k));
  for (auto k : kResourcesKeys) keys.push_back("resources." + std::string(k));
  for (size_t i = 0; i < kSandboxKeyCount; ++i) keys.push_back("sandbox." + std::string(kSandboxKeys[i]));
  return keys;
}

}  // namespace superd
