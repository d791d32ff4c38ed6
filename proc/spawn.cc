#include "proc/spawn.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "proc/child.h"
#include "proc/clone_into_cgroup.h"
#include "proc/exec_status.h"

namespace superd {

std::variant<Spawned, SpawnFailure> spawn_process(LaunchPlan& plan) {
  int status_pipe[2];
  if (::pipe2(status_pipe, O_CLOEXEC) < 0) {
    return SpawnFailure{std::string("pipe: ") + std::strerror(errno), is_transient_errno(errno)};
  }
  UniqueFd status_read(status_pipe[0]);
  UniqueFd status_write(status_pipe[1]);
  UniqueFd devnull(::open("/dev/null", O_RDWR | O_CLOEXEC));
  if (!devnull) {
    return SpawnFailure{std::string("/dev/null: ") + std::strerror(errno),
                        is_transient_errno(errno)};
  }

  // Block every signal across fork so no handler of superd's runs in the child before
  // it has reset them all; the parent restores its mask right after.
  sigset_t all, saved;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &saved);
  pid_t pid = fork_into_cgroup(plan.cgroup);
  if (pid == 0) run_child(plan, status_write.get(), devnull.get());
  int fork_errno = errno;
  pthread_sigmask(SIG_SETMASK, &saved, nullptr);
  if (pid < 0) {
    return SpawnFailure{std::string("fork: ") + std::strerror(fork_errno),
                        is_transient_errno(fork_errno)};
  }
  ::fcntl(status_read.get(), F_SETFL, O_NONBLOCK);
  return Spawned{pid, std::move(status_read),
                 ExecContext{plan.program, plan.user, plan.directory, plan.cgroup.dir, plan.sandbox.labels}};
}

ExecOutcome read_exec_outcome(int status_fd, const ExecContext& context) {
  ExecReport report{};
  ssize_t n;
  do {
    n = ::read(status_fd, &report, sizeof report);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return {};  // EAGAIN: the child has not exec'd yet
  if (n != static_cast<ssize_t>(sizeof report)) return {ExecOutcome::Kind::succeeded, {}};
  return {ExecOutcome::Kind::failed,
          SpawnFailure{describe_exec_failure(report, context.program, context.user,
                                             context.directory, context.cgroup,
                                             context.sandbox_labels),
                       is_transient_errno(report.error)}};
}

}  // namespace superd
