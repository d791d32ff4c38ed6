#include "proc/spawn.h"

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "proc/child.h"
#include "proc/exec_status.h"
#include "supervisor/env_file.h"

namespace superd {
namespace {

constexpr const char* kDefaultPath = "/usr/local/bin:/usr/bin:/bin";

struct Identity {
  std::string name;
  uid_t uid;
  gid_t gid;
  std::string home;
  std::string shell;
};

// getpwnam_r with a buffer that grows; nullopt with *error set when the user is unknown.
std::optional<Identity> lookup_user(const std::string& name, uid_t uid, std::string* error) {
  std::vector<char> buffer(4096);
  passwd pw{};
  passwd* found = nullptr;
  for (;;) {
    int rc = name.empty() ? getpwuid_r(uid, &pw, buffer.data(), buffer.size(), &found)
                          : getpwnam_r(name.c_str(), &pw, buffer.data(), buffer.size(), &found);
    if (rc == ERANGE && buffer.size() < (1u << 20)) {
      buffer.resize(buffer.size() * 2);
      continue;
    }
    if (rc != 0) {
      *error = "looking up user '" + name + "': " + std::strerror(rc);
      return std::nullopt;
    }
    break;
  }
  if (!found) {
    *error = name.empty() ? "uid " + std::to_string(uid) + " has no passwd entry"
                          : "user '" + name + "' does not exist";
    return std::nullopt;
  }
  return Identity{pw.pw_name, pw.pw_uid, pw.pw_gid, pw.pw_dir ? pw.pw_dir : "/",
                  pw.pw_shell && *pw.pw_shell ? pw.pw_shell : "/bin/sh"};
}

std::optional<gid_t> lookup_group(const std::string& name, std::string* error) {
  std::vector<char> buffer(4096);
  group gr{};
  group* found = nullptr;
  for (;;) {
    int rc = getgrnam_r(name.c_str(), &gr, buffer.data(), buffer.size(), &found);
    if (rc == ERANGE && buffer.size() < (1u << 20)) {
      buffer.resize(buffer.size() * 2);
      continue;
    }
    if (rc != 0 || !found) {
      *error = "group '" + name + "' does not exist";
      return std::nullopt;
    }
    return gr.gr_gid;
  }
}

std::vector<gid_t> supplementary_groups(const std::string& user, gid_t gid) {
  int count = 32;
  std::vector<gid_t> groups(count);
  while (getgrouplist(user.c_str(), gid, groups.data(), &count) < 0) {
    groups.resize(count + 16);
    count = static_cast<int>(groups.size());
  }
  groups.resize(count);
  return groups;
}

bool is_executable_file(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(path.c_str(), X_OK) == 0;
}

std::optional<std::string> resolve_program(const std::string& name, const std::string& path_var) {
  if (name.find('/') != std::string::npos) return name;
  std::stringstream dirs(path_var);
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    if (dir.empty()) continue;
    std::string candidate = dir + "/" + name;
    if (is_executable_file(candidate)) return candidate;
  }
  return std::nullopt;
}

// SPEC's clean set, then env_file, then `environment`; never superd's own environment.
std::variant<std::vector<std::pair<std::string, std::string>>, SpawnFailure> build_env(
    const ServiceConfig& config, const Identity& who) {
  std::vector<std::pair<std::string, std::string>> env = {
      {"HOME", who.home}, {"USER", who.name},   {"LOGNAME", who.name},
      {"PATH", kDefaultPath}, {"SHELL", who.shell},
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
  for (const auto& [key, value] : config.environment) set(key, value);
  if (!config.env_file.empty()) {
    std::ifstream in(config.env_file);
    if (!in) {
      return SpawnFailure{"env_file " + config.env_file + ": " + std::strerror(errno), false};
    }
    std::stringstream text;
    text << in.rdbuf();
    EnvFileResult parsed = parse_env_file(text.str());
    if (!parsed.errors.empty()) {
      const auto& e = parsed.errors.front();
      return SpawnFailure{config.env_file + ":" + std::to_string(e.line) + ": " + e.message, false};
    }
    // As systemd does: EnvironmentFile= overrides Environment=.
    for (const auto& [key, value] : parsed.vars) set(key, value);
  }
  return env;
}

}  // namespace

std::variant<LaunchPlan, SpawnFailure> plan_launch(const ServiceConfig& config,
                                                   PlanExtras extras) {
  LaunchPlan plan;
  std::string error;
  auto who = lookup_user(config.user, ::getuid(), &error);
  if (!who) return SpawnFailure{error, false};
  plan.user = who->name;
  plan.uid = who->uid;
  plan.gid = who->gid;
  if (!config.group.empty()) {
    auto gid = lookup_group(config.group, &error);
    if (!gid) return SpawnFailure{error, false};
    plan.gid = *gid;
  }
  plan.change_ids = ::geteuid() == 0 && !config.user.empty();
  if (plan.change_ids) plan.groups = supplementary_groups(who->name, plan.gid);
  // Without a configured directory a service runs in /, as under systemd.
  plan.directory = config.directory.empty() ? "/" : config.directory;
  plan.umask = config.umask;
  for (const auto& [resource, value] : config.limits) {
    plan.limits.emplace_back(resource, rlimit{value, value});
  }

  auto env = build_env(config, *who);
  if (auto* failure = std::get_if<SpawnFailure>(&env)) return *failure;
  auto& vars = std::get<0>(env);
  for (auto& kv : extras.env) vars.push_back(std::move(kv));

  std::string path_var = kDefaultPath;
  for (const auto& [k, v] : vars) {
    if (k == "PATH") path_var = v;
  }
  if (config.command.empty()) return SpawnFailure{"empty command", false};
  auto program = resolve_program(config.command[0], path_var);
  if (!program) {
    return SpawnFailure{"exec " + config.command[0] + ": not found in PATH (" + path_var + ")",
                        false};
  }
  plan.program = *program;
  plan.args = config.command;

  if (!extras.listen_fds.empty()) {
    vars.emplace_back("LISTEN_FDS", std::to_string(extras.listen_fds.size()));
    vars.emplace_back("LISTEN_FDNAMES", extras.listen_fdnames);
    // Room for the child to write its own pid after fork.
    vars.emplace_back("LISTEN_PID", std::string(20, '\0'));
  }
  for (auto& [k, v] : vars) {
    if (k == "LISTEN_PID") plan.listen_pid_env = static_cast<int>(plan.env.size());
    plan.env.push_back(k + "=" + v);
  }
  for (auto& a : plan.args) plan.argv.push_back(a.data());
  plan.argv.push_back(nullptr);
  for (auto& e : plan.env) plan.envp.push_back(e.data());
  plan.envp.push_back(nullptr);

  plan.stdout_fd = extras.stdout_fd;
  plan.stderr_fd = extras.stderr_fd;
  plan.listen_fds = std::move(extras.listen_fds);
  return plan;
}

std::variant<Spawned, SpawnFailure> spawn_process(LaunchPlan& plan) {
  int status_pipe[2];
  if (::pipe2(status_pipe, O_CLOEXEC) < 0) {
    return SpawnFailure{std::string("pipe: ") + std::strerror(errno), is_transient_errno(errno)};
  }
  UniqueFd status_read(status_pipe[0]);
  UniqueFd status_write(status_pipe[1]);
  UniqueFd devnull(::open("/dev/null", O_RDWR | O_CLOEXEC));
  if (!devnull) {
    return SpawnFailure{std::string("/dev/null: ") + std::strerror(errno),
                        is_transient_errno(errno)};
  }

  // Block every signal across fork so no handler of superd's runs in the child before
  // it has reset them all; the parent restores its mask right after.
  sigset_t all, saved;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &saved);
  pid_t pid = ::fork();
  if (pid == 0) run_child(plan, status_write.get(), devnull.get());
  int fork_errno = errno;
  pthread_sigmask(SIG_SETMASK, &saved, nullptr);
  if (pid < 0) {
    return SpawnFailure{std::string("fork: ") + std::strerror(fork_errno),
                        is_transient_errno(fork_errno)};
  }
  ::fcntl(status_read.get(), F_SETFL, O_NONBLOCK);
  return Spawned{pid, std::move(status_read), ExecContext{plan.program, plan.user, plan.directory}};
}

std::optional<SpawnFailure> read_exec_report(int status_fd, const ExecContext& context) {
  ExecReport report{};
  ssize_t n;
  do {
    n = ::read(status_fd, &report, sizeof report);
  } while (n < 0 && errno == EINTR);
  if (n != static_cast<ssize_t>(sizeof report)) return std::nullopt;
  return SpawnFailure{
      describe_exec_failure(report, context.program, context.user, context.directory),
      is_transient_errno(report.error)};
}

}  // namespace superd
