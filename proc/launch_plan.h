// A SpawnSpec made ready for fork: plan_launch() does everything that may allocate or
// consult NSS (argv, envp, the user's ids and group list, the program's path, the
// env_file) in the parent, so the child (child.cc) only makes syscalls.
#pragma once

#include <sys/resource.h>
#include <sys/types.h>

#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "base/exit_status.h"
#include "proc/cgroup_join.h"
#include "proc/sandbox_plan.h"
#include "proc/spawn_spec.h"

namespace superd {

struct LaunchPlan {
  std::string program;  // resolved path of command[0]
  std::vector<std::string> args;
  std::vector<std::string> env;
  std::vector<char*> argv;  // pointers into args/env, null-terminated
  std::vector<char*> envp;
  int listen_pid_env = -1;  // index of superd's LISTEN_PID entry, filled in by the child
  // Not failures: what the caller should log ("env_file ...: LISTEN_PID dropped ...").
  std::vector<std::string> warnings;

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
  // Scratch the child writes (it may share superd's memory, spawn.cc), with the digits
  // of LISTEN_PID in `env`: listen_fds moved above its new low fds; sized by
  // spawn_process().
  std::vector<int> child_listen_fds;

  CgroupJoin cgroup;  // the service's cgroup (cgroup_join.h); inactive: none
  // Set by spawn_process() while the fds above are lent to the spawn slots
  // (spawn_slots.h): the child's first call keeps only the descriptors below it.
  int unshare_from = -1;

  SandboxPlan sandbox;  // mounts, capabilities and compiled filters (sandbox_plan.h)
};

// Resolve the user, the environment and the program. A failure here is reported like an
// exec failure, without forking.
std::variant<LaunchPlan, SpawnFailure> plan_launch(const SpawnSpec& spec);

}  // namespace superd
