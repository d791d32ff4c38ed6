#include "proc/fd_limit.h"

namespace superd {
namespace {
// Written once by raise_fd_limit() before any thread exists; read-only after.
rlimit inherited{RLIM_INFINITY, RLIM_INFINITY};
bool known = false;
bool raised = false;
}  // namespace

bool raise_fd_limit() {
  if (::getrlimit(RLIMIT_NOFILE, &inherited) < 0) return false;
  known = true;
  if (inherited.rlim_cur >= inherited.rlim_max) return true;
  const rlimit up{inherited.rlim_max, inherited.rlim_max};
  if (::setrlimit(RLIMIT_NOFILE, &up) < 0) return false;
  raised = true;
  return true;
}

rlimit inherited_fd_limit() {
  if (!known) {
    rlimit now{};
    if (::getrlimit(RLIMIT_NOFILE, &now) == 0) return now;
  }
  return inherited;
}

bool fd_limit_raised() { return raised; }

void restore_fd_limit() {
  if (raised && ::setrlimit(RLIMIT_NOFILE, &inherited) == 0) raised = false;
}

}  // namespace superd
