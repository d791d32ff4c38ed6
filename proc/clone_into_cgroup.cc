#include "proc/clone_into_cgroup.h"

#include <linux/sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>

namespace superd {
namespace {

std::atomic<bool> refused{false};

bool is_refusal(int error) {
  return error == ENOSYS || error == E2BIG || error == EINVAL || error == EPERM;
}

}  // namespace

pid_t fork_into_cgroup(CgroupJoin& join) {
  join.placed = false;
  if (!join.active() || refused.load(std::memory_order_relaxed)) return ::fork();
  clone_args args{};
  args.flags = CLONE_INTO_CGROUP;
  args.exit_signal = SIGCHLD;
  args.cgroup = static_cast<uint64_t>(join.dir_fd);
  // The child reads `placed` from its copy of the plan: set it before the call.
  join.placed = true;
  long pid = ::syscall(SYS_clone3, &args, sizeof args);
  if (pid >= 0) return static_cast<pid_t>(pid);
  const int error = errno;
  join.placed = false;
  if (!is_refusal(error)) {
    // Not a refusal of clone3 itself (EBUSY: not a leaf; EAGAIN: pids): the fork below
    // meets the same problem when the child joins, and reports it with its stage.
    if (error == EAGAIN || error == ENOMEM) {
      errno = error;
      return -1;
    }
  } else {
    refused.store(true, std::memory_order_relaxed);
  }
  return ::fork();
}

bool clone_into_cgroup_refused() { return refused.load(std::memory_order_relaxed); }

}  // namespace superd
