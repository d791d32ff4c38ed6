#include "proc/launch_plan.h"

#include <sys/stat.h>
#include <unistd.h>

#include <optional>

#include "base/env_file.h"
#include "base/program_path.h"
#include "proc/fd_limit.h"
#include "proc/identity.h"

namespace superd {
namespace {


std::optional<std::string> resolve_program(const std::string& name, const std::string& path_var) {
  if (name.find('/') != std::string::npos) return name;
  return find_in_path(name, path_var);
}

// SPEC's clean set, then `environment`, then env_file; never superd's own environment,
// and never a name superd sets itself (the loader refuses those in `environment`; an
// env_file's are dropped and said so).
std::variant<std::vector<std::pair<std::string, std::string>>, SpawnFailure> build_env(
    const SpawnSpec& spec, const Identity& who, std::vector<std::string>* warnings) {
  std::vector<std::pair<std::string, std::string>> env = {
      {"HOME", who.home}, {"USER", who.name},   {"LOGNAME", who.name},
      {"PATH", std::string(kDefaultPath)}, {"SHELL", who.shell},
  };
  auto set = [&env](const std::string& key, const std::string& value) {
    for (auto& [k, v] : env) {
      if (k == key) {
        v = value;
        return;
      }
    }
    env.emplace_back(key, value);
  };
  for (const auto& [key, value] : spec.environment) {
    if (!is_reserved_env_name(key)) set(key, value);
  }
  if (!spec.env_file.empty()) {
    std::string error;
    auto parsed = read_env_file(spec.env_file, spec.env_file_trust.with_owner(who.uid), &error);
    if (!parsed) return SpawnFailure{error, false};
    // As systemd does: EnvironmentFile= overrides Environment=.
    for (const auto& [key, value] : *parsed) {
      if (is_reserved_env_name(key)) {
        warnings->push_back("env_file '" + spec.env_file + "': " + key +
                            " dropped: superd sets it itself");
        continue;
      }
      set(key, value);
    }
  }
  return env;
}

}  // namespace

namespace {

// The user, groups, directory, umask and limits the child takes on.
std::optional<SpawnFailure> plan_identity(const SpawnSpec& spec, LaunchPlan& plan,
                                          std::optional<Identity>& who) {
  std::string error;
  who = lookup_user(spec.user, ::getuid(), &error);
  if (!who) return SpawnFailure{error, false};
  plan.user = who->name;
  plan.uid = who->uid;
  plan.gid = who->gid;
  if (!spec.group.empty()) {
    auto gid = lookup_group(spec.group, &error);
    if (!gid) return SpawnFailure{error, false};
    plan.gid = *gid;
  }
  plan.change_ids = ::geteuid() == 0 && !spec.user.empty();
  if (plan.change_ids) plan.groups = supplementary_groups(who->name, plan.gid);
  // Without a configured directory a service runs in /, as under systemd.
  plan.directory = spec.directory.empty() ? "/" : spec.directory;
  plan.umask = spec.umask;
  bool nofile_set = false;
  for (const auto& [resource, value] : spec.limits) {
    plan.limits.emplace_back(resource, rlimit{value, value});
    nofile_set = nofile_set || resource == RLIMIT_NOFILE;
  }
  // superd raised its own (fd_limit.h); the service gets the one superd was started with.
  if (!nofile_set && fd_limit_raised()) plan.limits.emplace_back(RLIMIT_NOFILE, inherited_fd_limit());
  return std::nullopt;
}

// The program found in PATH, argv and envp as the child passes them to execve.
std::optional<SpawnFailure> plan_exec(const SpawnSpec& spec, const Identity& who,
                                      LaunchPlan& plan) {
  auto env = build_env(spec, who, &plan.warnings);
  if (auto* failure = std::get_if<SpawnFailure>(&env)) return *failure;
  auto& vars = std::get<0>(env);
  for (const auto& kv : spec.extra_env) vars.push_back(kv);

  std::string path_var(kDefaultPath);
  for (const auto& [k, v] : vars) {
    if (k == "PATH") path_var = v;
  }
  if (spec.command.empty()) return SpawnFailure{"empty command", false};
  auto program = resolve_program(spec.command[0], path_var);
  if (!program) {
    return SpawnFailure{"exec " + spec.command[0] + ": not found in PATH (" + path_var + ")",
                        false};
  }
  plan.program = *program;
  plan.args = spec.command;

  if (!spec.listen_fds.empty()) {
    vars.emplace_back("LISTEN_FDS", std::to_string(spec.listen_fds.size()));
    vars.emplace_back("LISTEN_FDNAMES", spec.listen_fdnames);
  }
  for (auto& [k, v] : vars) plan.env.push_back(k + "=" + v);
  if (!spec.listen_fds.empty()) {
    // Room for the child to write its own pid after fork: superd's own entry, the last
    // one (a LISTEN_PID of the service's could not have got this far).
    plan.listen_pid_env = static_cast<int>(plan.env.size());
    plan.env.push_back("LISTEN_PID=" + std::string(20, '\0'));
  }
  for (auto& a : plan.args) plan.argv.push_back(a.data());
  plan.argv.push_back(nullptr);
  for (auto& e : plan.env) plan.envp.push_back(e.data());
  plan.envp.push_back(nullptr);
  return std::nullopt;
}

}  // namespace

std::variant<LaunchPlan, SpawnFailure> plan_launch(const SpawnSpec& spec) {
  LaunchPlan plan;
  std::optional<Identity> who;
  if (auto failure = plan_identity(spec, plan, who)) return *failure;
  if (auto failure = plan_exec(spec, *who, plan)) return *failure;

  std::vector<std::string> keep;
  for (const auto& [k, v] : spec.extra_env) {
    if (k == "NOTIFY_SOCKET") keep.push_back(v);
  }
  if (auto failure = plan_sandbox(spec.sandbox, keep, plan.sandbox)) return *failure;

  plan.stdout_fd = spec.stdout_fd;
  plan.stderr_fd = spec.stderr_fd;
  plan.listen_fds = spec.listen_fds;
  plan.cgroup = spec.cgroup;
  return plan;
}

}  // namespace superd
