#include "base/exit_status.h"

#include <sys/wait.h>

#include "base/values.h"

namespace superd {

ExitStatus ExitStatus::from_wait_status(int wstatus) {
  if (WIFSIGNALED(wstatus)) return {true, WTERMSIG(wstatus)};
  return {false, WEXITSTATUS(wstatus)};
}

std::string ExitStatus::describe() const {
  if (signaled) return "killed by signal " + signal_name(code);
  return "exited with status " + std::to_string(code);
}

}  // namespace superd
