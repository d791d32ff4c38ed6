// Spawning a service process: our own fork/exec, because uv_spawn drops supplementary
// groups and only reaps its own children.
//
// plan_launch() does everything that may allocate or consult NSS (argv, envp, the user's
// ids and group list, the program's path) in the parent. spawn_process() then forks; the
// child runs only async-signal-safe calls (child.cc) and reports a failure as
// {stage, errno} through a close-on-exec pipe whose read end the caller keeps.
#pragma once

#include <sys/resource.h>
#include <sys/types.h>

#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "proc/fd.h"
#include "supervisor/config.h"
#include "supervisor/service.h"

namespace superd {

struct LaunchPlan {
  std::string program;  // resolved path of command[0]
  std::vector<std::string> args;
  std::vector<std::string> env;
  std::vector<char*> argv;  // pointers into args/env, null-terminated
  std::vector<char*> envp;
  int listen_pid_env = -1;  // index of the LISTEN_PID entry, filled in by the child

  bool change_ids = false;  // superd is root and the service runs as another identity
  std::string user;         // for messages
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;
  std::string directory;
  mode_t umask = 022;
  std::vector<std::pair<int, rlimit>> limits;

  int stdout_fd = -1;  // write ends of the capture pipes (owned by the caller)
  int stderr_fd = -1;
  std::vector<int> listen_fds;  // become fds 3.. in the child
};

struct PlanExtras {
  std::vector<std::pair<std::string, std::string>> env;  // NOTIFY_SOCKET, LISTEN_*, ...
  std::vector<int> listen_fds;
  std::string listen_fdnames;  // "app:app" for LISTEN_FDNAMES; empty when no listen fds
  int stdout_fd = -1;
  int stderr_fd = -1;
};

// Resolve the user, the environment (SPEC's clean set, env_file, environment) and the
// program. A failure here is reported like an exec failure, without forking.
std::variant<LaunchPlan, SpawnFailure> plan_launch(const ServiceConfig& config,
                                                   PlanExtras extras);

// What is needed to word an exec failure after the plan is gone.
struct ExecContext {
  std::string program;
  std::string user;
  std::string directory;
};

struct Spawned {
  pid_t pid;
  UniqueFd exec_status;  // read end: EOF after a successful exec, an ExecReport if not
  ExecContext context;
};

std::variant<Spawned, SpawnFailure> spawn_process(LaunchPlan& plan);

// Read what a (reaped) child said about its exec; nullopt when it exec'd fine.
// Non-blocking: nullopt when the child exec'd fine (EOF) or has not said anything yet.
std::optional<SpawnFailure> read_exec_report(int status_fd, const ExecContext& context);

}  // namespace superd
