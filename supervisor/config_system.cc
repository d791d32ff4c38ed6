// Pass 2: the system. Run on [defaults] too (minus the command), so a bad value there is
// reported even with no service; the duplicates this causes are merged by Errors.
#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "base/env_file.h"
#include "base/file_read.h"
#include "base/program_path.h"
#include "supervisor/config_instances.h"
#include "supervisor/config_loader.h"

namespace superd::config_internal {
namespace {

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

// Why `program` cannot be run ("" when it can): an absolute path must be an executable
// regular file, a bare name one in `search` (a PATH).
std::string executable_problem(const std::string& program, const std::string& search) {
  if (is_absolute(program)) {
    struct stat st {};
    if (stat(program.c_str(), &st) != 0) {
      return errno == ENOENT ? quoted(program) + " does not exist" : quoted(program) + ": " + std::strerror(errno);
    }
    if (!S_ISREG(st.st_mode)) return quoted(program) + " is not a regular file";
    if (access(program.c_str(), X_OK) != 0) return quoted(program) + " is not executable";
    return "";
  }
  if (find_in_path(program, search)) return "";
  return quoted(program) + " not found in PATH (" + search + ")";
}

}  // namespace

bool user_exists(const std::string& name) { return name_exists<passwd>(name, getpwnam_r); }
bool group_exists(const std::string& name) { return name_exists<group>(name, getgrnam_r); }

void Loader::check_system(const Draft& d, bool is_service) {
  if (!options_.check_system) return;
  const ServiceConfig& cfg = d.cfg;
  auto known_user = [&](const std::string& u) { return remembered(users_known_, u, [&] { return user_exists(u); }); };
  auto known_group = [&](const std::string& g) { return remembered(groups_known_, g, [&] { return group_exists(g); }); };
  if (const auto* n = d.node("user"); n && !cfg.user.empty() && !known_user(cfg.user)) {
    errors_.at(*n, "unknown user " + quoted(cfg.user));
  }
  if (const auto* n = d.node("group"); n && !cfg.group.empty() && !known_group(cfg.group)) {
    errors_.at(*n, "unknown group " + quoted(cfg.group));
  }
  if (const auto* n = d.node("directory"); n && !cfg.directory.empty()) check_directory(cfg.directory, *n);
  if (const auto* n = d.node("env_file"); n && !cfg.env_file.empty()) check_env_file(cfg.env_file, *n, cfg);
  if (!is_service) return;
  check_service_paths(d);

  if (const auto* n = d.node("command"); n && !cfg.command.empty()) {
    check_executable(cfg.command.front(), *n->as_array()->get(0), d);
  }
  check_exec_probes(d);
}

void Loader::check_directory(const std::string& directory, const toml::node& where) {
  struct stat st {};
  if (stat(directory.c_str(), &st) != 0) {
    errors_.at(where, errno == ENOENT ? "directory " + quoted(directory) + " does not exist"
                                      : "directory " + quoted(directory) + ": " + std::strerror(errno));
  } else if (!S_ISDIR(st.st_mode)) {
    errors_.at(where, quoted(directory) + " is not a directory");
  }
}

// An exec probe fails the same way a command does; say so now rather than at runtime.
void Loader::check_exec_probes(const Draft& d) {
  for (std::string_view key : {"ready", "health"}) {
    const toml::node* n = d.node(key);
    const toml::table* table = n ? n->as_table() : nullptr;
    const toml::node* exec = table ? table->get("exec") : nullptr;
    const toml::array* argv = exec ? exec->as_array() : nullptr;
    if (!argv || argv->empty()) continue;
    const auto* program = argv->get(0)->as_string();
    if (program && !program->get().empty() && program->get().find('\0') == std::string::npos) {
      check_executable(d.cfg.instance < 0 ? program->get() : substitute_instance(program->get(), d.cfg.instance),
                       *argv->get(0), d);
    }
  }
}

// command[0]: an absolute path must be an executable regular file; a bare name must be
// one in the service's PATH (its environment's, else the default the spawner uses).
void Loader::check_executable(const std::string& program, const toml::node& where, const Draft& d) {
  if (!is_absolute(program) && program.find('/') != std::string::npos) return;  // refused while typing
  auto env_path = d.cfg.environment.find("PATH");
  const std::string search =
      is_absolute(program) ? std::string()
                           : env_path != d.cfg.environment.end() ? env_path->second : std::string(kDefaultPath);
  const std::string& problem =
      remembered(programs_checked_, search + '\0' + program, [&] { return executable_problem(program, search); });
  if (!problem.empty()) errors_.at(where, problem);
}

// Read as superd reads it at every start (base/safe_path.h): its directories checked, the
// service's user trusted besides root, never a symlink, a FIFO or a hard link.
void Loader::check_env_file(const std::string& path, const toml::node& where, const ServiceConfig& cfg) {
  PathTrust trust = config_.supervisor.path_trust();
  if (passwd* pw = cfg.user.empty() ? nullptr : ::getpwnam(cfg.user.c_str())) trust = trust.with_owner(pw->pw_uid);
  auto text = read_safe_file(path, trust, kMaxEnvFileBytes);
  if (auto* problem = std::get_if<PathProblem>(&text)) {
    errors_.at(where, env_file_problem(path, *problem));
    return;
  }
  const SourcePos anchor = errors_.pos_of(where);
  const EnvFileResult parsed = parse_env_file(std::get<std::string>(text));
  for (const auto& e : parsed.errors) {
    errors_.add({{path, e.line, 1}, e.message}, anchor);
  }
  for (const auto& [key, value] : parsed.vars) {
    if (is_reserved_env_name(key)) {
      warnings_.at(where, "warning: env_file " + quoted(path) + " sets " + key +
                              ", which superd sets itself: it is dropped at every start");
    }
  }
}

}  // namespace superd::config_internal
