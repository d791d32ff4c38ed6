// Pass 2, the paths superd opens, creates and chowns as root, checked as it will open
// them (base/safe_path.h): the control socket's directory and the notify directory
// beside it, state_dir, log_dir and every log file's directory, the directory of each
// unix `listen` socket. A directory that does not exist yet is what superd creates; the
// deepest one that does must then be fit to hold it. Each directory is reported once,
// where the config first leads to it.
//
// Pass 3, groups: a directory in allow_group_writable must not be writable by a group a
// service runs as (that is the attack the check is for), and socket_group should not be
// one either (its members control every service).
#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

#include "base/text.h"
#include "supervisor/config_loader.h"

namespace superd::config_internal {
namespace {

constexpr std::string_view kLogConsequence = "superd writes root-owned files there";

std::string parent_of(const std::string& path) { return split_path(path).first; }

struct ServiceGroups {
  std::string service;
  std::string user;
  std::vector<gid_t> gids;  // primary first, then supplementary
};

// The groups a service's processes have (setgid, initgroups), from the user database.
std::optional<ServiceGroups> groups_of(const ServiceConfig& cfg) {
  const std::string user = cfg.user.empty() ? "root" : cfg.user;
  passwd* pw = ::getpwnam(user.c_str());
  if (!pw) return std::nullopt;
  gid_t primary = pw->pw_gid;
  if (!cfg.group.empty()) {
    group* gr = ::getgrnam(cfg.group.c_str());
    if (!gr) return std::nullopt;
    primary = gr->gr_gid;
  }
  std::vector<gid_t> gids(64);
  for (int attempt = 0; attempt < 8; ++attempt) {
    int count = static_cast<int>(gids.size());
    if (::getgrouplist(user.c_str(), primary, gids.data(), &count) >= 0) {
      gids.resize(static_cast<size_t>(count));
      break;
    }
    gids.resize(std::max<size_t>(static_cast<size_t>(count), gids.size() * 2));
  }
  gids.insert(gids.begin(), primary);
  return ServiceGroups{cfg.name, user, std::move(gids)};
}

}  // namespace

SourcePos Loader::supervisor_pos(std::string_view key) const {
  if (auto it = supervisor_nodes_.find(key); it != supervisor_nodes_.end()) return errors_.pos_of(*it->second);
  if (supervisor_table_) return errors_.pos_of(*supervisor_table_);
  return SourcePos{path_, 0, 0};  // a built-in default: "FILE: message"
}

// { "/var/log" = "why its group may write there", ... }
void Loader::load_allow_group_writable(const toml::node& node) {
  const toml::table* table = read_table(node, "allow_group_writable");
  if (!table) return;
  for (auto [dir, reason] : in_file_order(*table)) {
    const std::string path(dir);
    if (!is_absolute(path)) {
      errors_.at(*reason, "allow_group_writable: " + quoted(path) + " must be an absolute path");
      continue;
    }
    const auto* text = reason->as_string();
    if (!text || trim(text->get()).empty()) {
      errors_.at(*reason, "allow_group_writable " + quoted(path) +
                              ": say why its group may write there, as a non-empty string");
      continue;
    }
    config_.supervisor.allow_group_writable[path] = text->get();
    allow_nodes_[path] = reason;
  }
}

// `what` `path` (in directory `dir`, or `dir` itself): the walk, then the file `file`
// in it when the directory exists and a name is given.
bool Loader::check_dir(const std::string& what, const std::string& path, const std::string& dir,
                       const SourcePos& where, const std::string& consequence, const std::string& file) {
  if (!options_.check_system) return true;
  const bool first = checked_dirs_.insert(dir).second;
  const PathTrust trust = config_.supervisor.path_trust();
  const auto& opened = remembered(dirs_opened_, dir, [&] { return open_safe_dir(dir, trust, Missing::accept); });
  if (const auto* problem = std::get_if<PathProblem>(&opened)) {
    if (first) errors_.at(where, problem->explain(what, path, consequence));
    return false;
  }
  const SafeDir& found = std::get<SafeDir>(opened);
  if (file.empty() || found.path() != dir) return true;  // the rest is superd's to create
  if (auto problem = check_safe_file(found, file, trust); problem && problem->why != "does not exist") {
    errors_.at(where, problem->explain(what, path, consequence));
    return false;
  }
  return true;
}

void Loader::check_supervisor_paths() {
  const SupervisorConfig& sup = config_.supervisor;
  const std::string socket_dir = parent_of(sup.socket);
  if (check_dir("socket", sup.socket, socket_dir, supervisor_pos("socket"),
                "superd's control socket and its lock live there")) {
    const std::string notify = socket_dir + "/notify";
    check_dir("notify directory", notify, notify, supervisor_pos("socket"),
              "superd makes the services' notify sockets there");
  }
  check_dir("state_dir", sup.state_dir, sup.state_dir, supervisor_pos("state_dir"),
            "superd keeps its state there, and signals the pids running.json names");
  check_dir("log_dir", sup.log_dir, sup.log_dir, supervisor_pos("log_dir"), std::string(kLogConsequence));
}

void Loader::check_service_paths(const Draft& d) {
  const ServiceConfig& cfg = d.cfg;
  const SourcePos table = cfg.pos;
  auto pos_of_key = [&](std::string_view key) {
    const toml::node* n = d.node(key);
    return n ? errors_.pos_of(*n) : table;
  };
  for (std::string_view key : {"stdout", "stderr"}) {
    const std::string& path = key == "stdout" ? cfg.stdout_path : cfg.stderr_path;
    // The console and the journal are no files (logs_*): nothing to check.
    if ((key == "stdout" ? cfg.stdout_target : cfg.stderr_target) != LogTarget::file) continue;
    if (key == "stderr" && cfg.stdout_target == LogTarget::file && path == cfg.stdout_path) continue;
    auto [dir, name] = split_path(path);
    if (options_.log_file_open && options_.log_file_open(cfg.name, path, config_.supervisor.path_trust()))
      name.clear();  // the directory only
    check_dir(std::string(key), path, dir, pos_of_key(key), std::string(kLogConsequence), name);
  }
  for (size_t i = 0; i < cfg.listen.size(); ++i) {
    const ListenEndpoint& endpoint = cfg.listen[i];
    if (endpoint.kind != ListenEndpoint::Kind::unix_socket) continue;
    const SourcePos where = i < d.listen_nodes.size() ? errors_.pos_of(*d.listen_nodes[i]) : pos_of_key("listen");
    check_dir("listen", endpoint.to_string(), parent_of(endpoint.path), where,
              "superd binds and chowns a socket there");
  }
}

void Loader::check_groups(const std::vector<Draft>& drafts) {
  if (!options_.check_system) return;
  const std::string& name = config_.supervisor.socket_group;
  if (allow_nodes_.empty() && name.empty()) return;  // nothing to hold the groups against
  std::vector<ServiceGroups> services;
  std::map<std::pair<std::string, std::string>, std::optional<ServiceGroups>> by_identity;
  for (const auto& d : drafts) {
    const auto& groups = remembered(by_identity, {d.cfg.user, d.cfg.group}, [&] { return groups_of(d.cfg); });
    if (!groups) continue;
    services.push_back(*groups);
    services.back().service = d.cfg.name;
  }
  auto runs_as = [&](gid_t gid) -> const ServiceGroups* {
    for (const auto& s : services) {
      if (std::find(s.gids.begin(), s.gids.end(), gid) != s.gids.end()) return &s;
    }
    return nullptr;
  };
  for (const auto& [dir, node] : allow_nodes_) {
    struct stat st {};
    if (::stat(dir.c_str(), &st) != 0) continue;  // nothing to allow yet
    if (const ServiceGroups* s = runs_as(st.st_gid)) {
      errors_.at(*node, "allow_group_writable " + quoted(dir) + ": its group '" + group_label_of(st.st_gid) +
                            "' is a group of service '" + s->service + "' (user '" + s->user +
                            "'): a service must not be able to replace superd's files");
    }
  }
  group* gr = name.empty() ? nullptr : ::getgrnam(name.c_str());
  if (!gr) return;
  if (const ServiceGroups* s = runs_as(gr->gr_gid)) {
    warnings_.at(supervisor_pos("socket_group"),
                 "warning: socket_group " + quoted(name) + " is a group service '" + s->service +
                     "' runs as (user '" + s->user + "'): its processes may stop, disable and "
                     "reconfigure every service and read their logs; use a group of operators "
                     "only (etc/super.toml: superops)");
  }
}

}  // namespace superd::config_internal
