// What a child reports to superd when it cannot become the service's program: the stage
// that failed and its errno, written to a close-on-exec pipe (so a successful exec
// reports nothing: the pipe just closes). Read back after the child is reaped.
#pragma once

#include <cstdint>
#include <string>

namespace superd {

enum class ExecStage : int32_t {
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
};

struct ExecReport {
  ExecStage stage;
  int32_t error;  // errno
};

// Errors worth another try after a backoff: the system was short of something.
bool is_transient_errno(int error);

// "exec /usr/bin/gunicornx: No such file or directory", "setuid(www): Operation not
// permitted", "chdir /srv/app: Permission denied".
std::string describe_exec_failure(const ExecReport& report, const std::string& program,
                                  const std::string& user, const std::string& directory,
                                  const std::string& cgroup = "");

}  // namespace superd
