// What to run: everything the spawn path needs to know about one process, in terms of
// processes (not of super.toml). The daemon translates a service's config into a
// SpawnSpec; proc/ knows nothing of services, configs or the state machine.
#pragma once

#include <sys/resource.h>
#include <sys/types.h>

#include <string>
#include <utility>
#include <vector>

#include "base/safe_path.h"
#include "proc/cgroup_join.h"
#include "proc/sandbox_spec.h"

namespace superd {

struct SpawnSpec {
  std::vector<std::string> command;  // command[0]: absolute, or a name looked up in PATH
  std::string user;                  // empty: the user superd runs as
  std::string group;                 // empty: the user's primary group
  std::string directory;             // empty: "/"
  mode_t umask = 022;
  std::vector<std::pair<int, rlim_t>> limits;  // RLIMIT_* -> soft and hard value

  // The environment, after the clean set (HOME, USER, LOGNAME, PATH, SHELL): these
  // pairs in order, then the env_file (read at every spawn; it wins, as systemd's
  // EnvironmentFile= does), then `extra_env` (superd's own: NOTIFY_SOCKET, ...).
  // Names superd sets itself (base/env_file.h kReservedEnvNames) are dropped from
  // `environment` and the env_file; only `extra_env` and the listen fds set them.
  std::vector<std::pair<std::string, std::string>> environment;
  std::string env_file;  // empty: none
  PathTrust env_file_trust;  // besides root; plan_launch adds the service's user
  std::vector<std::pair<std::string, std::string>> extra_env;

  // fds the caller owns. stdout/stderr become 1 and 2, /dev/null is 0, `listen_fds`
  // become 3.. with LISTEN_FDS, LISTEN_FDNAMES and LISTEN_PID set.
  int stdout_fd = -1;
  int stderr_fd = -1;
  std::vector<int> listen_fds;
  std::string listen_fdnames;  // "app:app"

  // The cgroup to start in (descriptors the caller owns, CgroupJoinFds); inactive: none.
  CgroupJoin cgroup;

  // Namespaces, mounts, capabilities and seccomp filters (sandbox_spec.h). A NOTIFY_SOCKET
  // in extra_env stays reachable whatever the mounts hide.
  SandboxSpec sandbox;
};

}  // namespace superd
