#include "proc/child.h"

#include <fcntl.h>
#include <grp.h>
#include <linux/close_range.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

#include "proc/exec_status.h"
#include "proc/sandbox_child.h"

namespace superd {
namespace {

[[noreturn]] void fail(int status_fd, const ExecReport& report) {
  // A short write cannot happen for 12 bytes on a pipe; nothing more can be done anyway.
  [[maybe_unused]] ssize_t n = ::write(status_fd, &report, sizeof report);
  ::_exit(127);
}

[[noreturn]] void fail(int status_fd, ExecStage stage) { fail(status_fd, ExecReport{stage, errno}); }

void check(int status_fd, const ExecReport& report) {
  if (report.stage != ExecStage::none) fail(status_fd, report);
}

void write_decimal(char* out, pid_t value) {
  char digits[16];
  int n = 0;
  do {
    digits[n++] = static_cast<char>('0' + value % 10);
    value /= 10;
  } while (value > 0 && n < 15);
  while (n > 0) *out++ = digits[--n];
  *out = '\0';
}

// Move `fd` to a number >= floor, keeping it close-on-exec, so that dup2 into the low
// slots below cannot clobber it.
int lift(int fd, int floor) {
  if (fd < 0) return fd;
  return ::fcntl(fd, F_DUPFD_CLOEXEC, floor);
}

}  // namespace

void run_child(LaunchPlan& plan, int status_fd, int devnull_fd) {
  // A table of its own, only the low slots copied (spawn_slots.h): it may share superd's
  // until here (CLONE_FILES), and nothing below may touch that one.
  if (plan.unshare_from >= 0 &&
      ::syscall(SYS_close_range, static_cast<unsigned>(plan.unshare_from), ~0U, CLOSE_RANGE_UNSHARE) < 0) {
    fail(status_fd, ExecStage::close_fds);  // a write and _exit: superd's table stays as it is
  }
  // The cgroup first (cgroup_join.h): nothing of the child runs outside it.
  if (!join_cgroups(plan.cgroup)) fail(status_fd, ExecStage::cgroup);

  if (::setsid() < 0) fail(status_fd, ExecStage::setsid);

  // Handlers installed by superd (libuv's signal pipe) must not run here; the mask the
  // parent blocked before fork is lifted only once every disposition is default.
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; ++sig) ::sigaction(sig, &dfl, nullptr);

  ::umask(plan.umask);
  for (auto& [resource, limit] : plan.limits) {
    if (::setrlimit(resource, &limit) < 0) fail(status_fd, ExecStage::setrlimit);
  }
  // Namespaces and mounts before chdir, so the directory is looked up in the sandbox.
  check(status_fd, sandbox_enter(plan.sandbox, plan.change_ids));
  if (::chdir(plan.directory.c_str()) < 0) fail(status_fd, ExecStage::chdir);
  if (plan.change_ids) {
    // Raw system calls: glibc's setgid/setgroups/setuid broadcast to every thread glibc
    // believes the process has, and a clone3 child (clone_into_cgroup.h) still carries
    // the parent's thread list. The child has one thread; the kernel call is enough.
    if (::syscall(SYS_setgid, plan.gid) < 0) fail(status_fd, ExecStage::setgid);
    if (::syscall(SYS_setgroups, plan.groups.size(), plan.groups.data()) < 0)
      fail(status_fd, ExecStage::setgroups);
    if (::syscall(SYS_setuid, plan.uid) < 0) fail(status_fd, ExecStage::setuid);
  }
  check(status_fd, sandbox_after_ids(plan.sandbox, plan.change_ids));

  // Lay out fds: 0 /dev/null, 1 and 2 the capture pipes, 3.. the listen sockets, then
  // the status pipe; everything above is closed.
  const int nlisten = static_cast<int>(plan.listen_fds.size());
  const int floor = 4 + nlisten;
  status_fd = lift(status_fd, floor);
  if (status_fd < 0) ::_exit(127);
  const int in = lift(devnull_fd, floor);
  const int out = lift(plan.stdout_fd, floor);
  const int err = lift(plan.stderr_fd, floor);
  if (in < 0 || out < 0 || err < 0) fail(status_fd, ExecStage::dup_fds);
  // Into the plan's scratch, not over listen_fds, which the parent owns.
  int* lifted = plan.child_listen_fds.data();
  for (int i = 0; i < nlisten; ++i) {
    lifted[i] = lift(plan.listen_fds[i], floor);
    if (lifted[i] < 0) fail(status_fd, ExecStage::dup_fds);
  }
  if (::dup2(in, 0) < 0 || ::dup2(out, 1) < 0 || ::dup2(err, 2) < 0)
    fail(status_fd, ExecStage::dup_fds);
  for (int i = 0; i < nlisten; ++i) {
    if (::dup2(lifted[i], 3 + i) < 0) fail(status_fd, ExecStage::dup_fds);
  }
  if (::dup2(status_fd, 3 + nlisten) < 0) fail(status_fd, ExecStage::dup_fds);
  status_fd = 3 + nlisten;
  if (::fcntl(status_fd, F_SETFD, FD_CLOEXEC) < 0) fail(status_fd, ExecStage::dup_fds);
  if (::syscall(SYS_close_range, status_fd + 1, ~0U, 0) < 0) {
    fail(status_fd, ExecStage::close_fds);
  }

  if (plan.listen_pid_env >= 0) {
    // "LISTEN_PID=" followed by room for the digits, reserved by the parent.
    char* value = plan.envp[plan.listen_pid_env] + sizeof("LISTEN_PID=") - 1;
    write_decimal(value, ::getpid());
  }

  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);

  check(status_fd, sandbox_seccomp(plan.sandbox));
  ::execve(plan.program.c_str(), plan.argv.data(), plan.envp.data());
  fail(status_fd, ExecStage::exec);
}

}  // namespace superd
