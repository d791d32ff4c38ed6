#include "proc/fd_limit.h"

namespace superd {
namespace {
// Written by raise_fd_limit() on the main thread (at start, before any other thread, and
// after a failed self-exec); read by the spawn path, on the same thread.
rlimit inherited{};
bool raised = false;
}  // namespace

bool raise_fd_limit() {
  if (::getrlimit(RLIMIT_NOFILE, &inherited) < 0) return false;
  if (inherited.rlim_cur >= inherited.rlim_max) return true;
  const rlimit up{inherited.rlim_max, inherited.rlim_max};
  if (::setrlimit(RLIMIT_NOFILE, &up) < 0) return false;
  raised = true;
  return true;
}

rlimit inherited_fd_limit() { return inherited; }

bool fd_limit_raised() { return raised; }

void restore_fd_limit() {
  if (raised && ::setrlimit(RLIMIT_NOFILE, &inherited) == 0) raised = false;
}

}  // namespace superd
