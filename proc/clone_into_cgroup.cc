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

#if defined(__x86_64__)
namespace {

// clone3 whose child calls fn(arg) on the stack the kernel gave it and exits with its
// value; it never returns into this frame, which it shares with the parent's memory.
// The child starts with the parent's registers (rax 0, rsp the new stack): fn and arg
// travel in r12 and r13, which the system call leaves alone.
long raw_clone3_run(clone_args* args, int (*fn)(void*), void* arg) {
  register long child_fn asm("r12") = reinterpret_cast<long>(fn);
  register long child_arg asm("r13") = reinterpret_cast<long>(arg);
  long ret;
  asm volatile(
      "syscall\n\t"
      "testq %%rax, %%rax\n\t"
      "jnz 1f\n\t"
      "xorl %%ebp, %%ebp\n\t"
      "movq %%r13, %%rdi\n\t"
      "callq *%%r12\n\t"
      "movl %%eax, %%edi\n\t"
      "movl %[exit_nr], %%eax\n\t"
      "syscall\n\t"
      "hlt\n\t"
      "1:\n\t"
      : "=a"(ret)
      : "0"(static_cast<long>(SYS_clone3)), "D"(args), "S"(sizeof(clone_args)), "r"(child_fn),
        "r"(child_arg), [exit_nr] "i"(SYS_exit)
      : "rcx", "r11", "memory");
  return ret;
}

}  // namespace

pid_t vfork_into_cgroup(CgroupJoin& join, char* stack, size_t size, int (*fn)(void*), void* arg,
                        bool share_files) {
  join.placed = false;
  if (!join.active() || refused.load(std::memory_order_relaxed)) {
    errno = ENOSYS;
    return -1;
  }
  clone_args args{};
  args.flags = CLONE_VM | CLONE_VFORK | CLONE_INTO_CGROUP | (share_files ? CLONE_FILES : 0);
  args.exit_signal = SIGCHLD;
  args.stack = reinterpret_cast<uint64_t>(stack);
  args.stack_size = size;
  args.cgroup = static_cast<uint64_t>(join.dir_fd);
  join.placed = true;  // the child reads it from the plan it shares
  const long pid = raw_clone3_run(&args, fn, arg);
  if (pid >= 0) return static_cast<pid_t>(pid);
  join.placed = false;
  if (is_refusal(static_cast<int>(-pid))) refused.store(true, std::memory_order_relaxed);
  errno = static_cast<int>(-pid);
  return -1;
}
#else
pid_t vfork_into_cgroup(CgroupJoin& join, char*, size_t, int (*)(void*), void*, bool) {
  join.placed = false;
  errno = ENOSYS;
  return -1;
}
#endif

bool clone_into_cgroup_refused() { return refused.load(std::memory_order_relaxed); }

}  // namespace superd
