#include "proc/spawn.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <iterator>
#include <vector>

#include "proc/child.h"
#include "proc/clone_into_cgroup.h"
#include "proc/exec_status.h"
#include "proc/spawn_slots.h"

namespace superd {
namespace {

// Without a cgroup to be born in, the child shares superd's memory and superd waits
// (CLONE_VM | CLONE_VFORK, as glibc's posix_spawn does) until it has exec'd or failed:
// no page table is copied and no page of superd's is copied on write while the child
// runs. A fork had both copy-on-write faulting (superd goes on with its loop), which this
// VM makes dear: 7.6 ms from fork to exec when superd was busy. The child writes only
// its own stack, this spawn's scratch in the plan (child_listen_fds, and the digits of
// LISTEN_PID in the plan's env) and errno; run_child() already makes only system calls.
// The price: superd waits for the child's steps before exec. Those are a few syscalls
// here, but a chdir into (or an exec from) a stalled NFS or FUSE mount stalls superd
// with it, as it would under posix_spawn. So a sandbox (mounts, a `keep` path's open)
// forks. A cgroup leaf shares too, through clone3 itself (vfork_into_cgroup: glibc 2.36
// has no function-on-a-stack form of it); where that is refused it forks. ASan builds
// fork always: instrumented code on a foreign stack would warn into the service's log.
#if defined(__SANITIZE_ADDRESS__)
constexpr bool kShareMemory = false;
#else
constexpr bool kShareMemory = true;
#endif
constexpr size_t kGuard = 4096;
constexpr size_t kChildStack = 256 << 10;  // run_child's deepest frames take a few KiB

struct ChildStart {
  LaunchPlan* plan;
  int status_fd;
  int devnull_fd;
};

int child_entry(void* arg) {
  auto* start = static_cast<ChildStart*>(arg);
  run_child(*start->plan, start->status_fd, start->devnull_fd);
}

// One stack per thread, mapped once and kept: its pages stay resident between spawns.
char* child_stack_top() {
  thread_local char* base = nullptr;
  if (!base) {
    void* p = ::mmap(nullptr, kGuard + kChildStack, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (p == MAP_FAILED) return nullptr;
    if (::mprotect(p, kGuard, PROT_NONE) != 0) {  // an overflow must fault, not write superd's memory
      ::munmap(p, kGuard + kChildStack);
      return nullptr;
    }
    base = static_cast<char*>(p);
  }
  return base + kGuard + kChildStack;
}

// The descriptors a plan hands to its child.
struct PlanFds {
  int stdout_fd, stderr_fd;
  std::vector<int> listen_fds;
  int dir_fd, procs_fd;
  int v1[kMaxV1Joins];
};

PlanFds fds_of(const LaunchPlan& plan) {
  PlanFds f{plan.stdout_fd, plan.stderr_fd, plan.listen_fds, plan.cgroup.dir_fd, plan.cgroup.procs_fd, {}};
  std::copy(std::begin(plan.cgroup.v1_procs_fds), std::end(plan.cgroup.v1_procs_fds), f.v1);
  return f;
}

void set_fds(LaunchPlan& plan, const PlanFds& f) {
  plan.stdout_fd = f.stdout_fd;
  plan.stderr_fd = f.stderr_fd;
  plan.listen_fds = f.listen_fds;
  plan.cgroup.dir_fd = f.dir_fd;
  plan.cgroup.procs_fd = f.procs_fd;
  std::copy(std::begin(f.v1), std::end(f.v1), plan.cgroup.v1_procs_fds);
}

// Every descriptor the child needs (`own`: the plan's) moved into the spawn slots (spawn_slots.h), so it can
// share superd's table and copy only the slots. False (and nothing changed) when a
// sandbox is set up (its own descriptors stay where they are), memory is not shared, or
// the fds do not fit.
bool lend_fds(LaunchPlan& plan, const PlanFds& own, int* status_fd, int* devnull_fd, SlotLease& lease) {
  if (!kShareMemory || plan.sandbox.active || !SlotLease::available()) return false;
  PlanFds lent = own;
  bool ok = true;
  auto take = [&](int& fd) {
    if (fd < 0 || !ok) return;
    fd = lease.lend(fd);
    ok = fd >= 0;
  };
  int status = *status_fd, devnull = *devnull_fd;
  take(status);
  take(devnull);
  take(lent.stdout_fd);
  take(lent.stderr_fd);
  for (int& fd : lent.listen_fds) take(fd);
  take(lent.dir_fd);
  take(lent.procs_fd);
  for (int& fd : lent.v1) take(fd);
  if (!ok) return false;
  set_fds(plan, lent);
  plan.unshare_from = SlotLease::limit();
  *status_fd = status;
  *devnull_fd = devnull;
  return true;
}

// Like fork_into_cgroup(), but the child runs run_child() and never returns here.
pid_t start_child(LaunchPlan& plan, int status_fd, int devnull_fd) {
  const bool share = kShareMemory && !plan.sandbox.active;
  char* stack = share ? child_stack_top() : nullptr;
  if (stack) {
    ChildStart start{&plan, status_fd, devnull_fd};
    const int files = plan.unshare_from >= 0 ? CLONE_FILES : 0;
    if (!plan.cgroup.active()) return ::clone(child_entry, stack, CLONE_VM | CLONE_VFORK | files | SIGCHLD, &start);
    const pid_t pid = vfork_into_cgroup(plan.cgroup, stack - kChildStack, kChildStack, child_entry, &start,
                                        files != 0);
    // Else as fork_into_cgroup() does: a refusal, or a problem the forked child reports
    // with its stage (EBUSY: not a leaf).
    if (pid >= 0 || errno == EAGAIN || errno == ENOMEM) return pid;
  }
  const pid_t pid = fork_into_cgroup(plan.cgroup);
  if (pid == 0) run_child(plan, status_fd, devnull_fd);
  return pid;
}

}  // namespace

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
  plan.child_listen_fds.assign(plan.listen_fds.size(), -1);  // allocated here, not in the child
  const PlanFds own = fds_of(plan);
  int child_status = status_write.get(), child_devnull = devnull.get();
  SlotLease lease;
  const bool lent = lend_fds(plan, own, &child_status, &child_devnull, lease);
  pid_t pid = start_child(plan, child_status, child_devnull);
  int fork_errno = errno;
  pthread_sigmask(SIG_SETMASK, &saved, nullptr);
  if (lent) {
    set_fds(plan, own);
    plan.unshare_from = -1;
  }
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
