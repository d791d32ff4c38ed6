// How a process ended, and why a spawn did not produce one. Shared by the spawn path
// (proc/), which produces them, and the state machine (supervisor/), which acts on them.
#pragma once

#include <string>

namespace superd {

// How a main process ended.
struct ExitStatus {
  bool signaled = false;
  int code = 0;  // exit code, or the signal number when signaled
  static ExitStatus from_wait_status(int wstatus);
  bool clean() const { return !signaled && code == 0; }
  std::string describe() const;  // "exited with status 1", "killed by signal KILL"
};

// Why a spawn did not produce a running program. `transient` errors (fork EAGAIN,
// ENOMEM, ETXTBSY) are retried with backoff; the others make the service fatal.
struct SpawnFailure {
  std::string reason;  // "exec /usr/bin/gunicornx: No such file or directory"
  bool transient = false;
};

}  // namespace superd
