// What a child reports to superd when it cannot become the service's program: the stage
// that failed and its errno, written to a close-on-exec pipe (so a successful exec
// reports nothing: the pipe just closes). Read back after the child is reaped.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace superd {

enum class ExecStage : int32_t {
  none = 0,  // no failure
  setsid = 1,
  setrlimit,
  chdir,
  setgid,
  setgroups,
  setuid,
  dup_fds,
  close_fds,
  exec,
  cgroup,  // joining the service's cgroup (cgroup_join.h)
  // The sandbox (sandbox_child.cc); the report's `detail` names the step.
  sandbox_namespace,
  sandbox_mount,
  sandbox_capabilities,
  sandbox_no_new_privileges,
  sandbox_seccomp,
};

struct ExecReport {
  ExecStage stage;
  int32_t error;        // errno
  int32_t detail = -1;  // sandbox stages: an index into the plan's labels
};

// Errors worth another try after a backoff: the system was short of something.
bool is_transient_errno(int error);

// "exec /usr/bin/gunicornx: No such file or directory", "setuid(www): Operation not
// permitted", "chdir /srv/app: Permission denied", "sandbox: mount /var/lib/redis: No
// such file or directory" (`sandbox_labels`: the plan's labels, see sandbox_plan.h).
std::string describe_exec_failure(const ExecReport& report, const std::string& program,
                                  const std::string& user, const std::string& directory,
                                  const std::string& cgroup = "",
                                  const std::vector<std::string>& sandbox_labels = {});

}  // namespace superd
