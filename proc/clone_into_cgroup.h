// fork(2) that starts the child in a cgroup: clone3(CLONE_INTO_CGROUP) with the leaf's
// directory fd, or, where the kernel refuses clone3 for good (ENOSYS before 5.3, E2BIG
// or EINVAL before 5.7, EPERM/ENOSYS from a container's seccomp filter), plain fork
// with join.placed left false so the child writes itself into cgroup.procs
// (cgroup_join.h). A refusal is remembered: later spawns fork directly.
//
// The clone3 child is a raw clone, so glibc's fork bookkeeping (atfork handlers, the
// thread list, the cached tid) did not run for it: like the fork child, it may only make
// plain system calls until exec (child.cc does; ids change through raw syscalls).
#pragma once

#include <sys/types.h>

#include "proc/cgroup_join.h"

namespace superd {

// Like fork(): 0 in the child, the pid in the parent, -1 with errno on failure. Sets
// join.placed when the child was created inside join's v2 leaf. Without an active
// `join`: fork().
pid_t fork_into_cgroup(CgroupJoin& join);

// The same child sharing superd's memory, as posix_spawn does (spawn.cc says why):
// clone3(CLONE_VM | CLONE_VFORK | CLONE_INTO_CGROUP) running fn(arg) on the stack
// [stack, stack + size), superd's thread suspended until the child has exec'd or exited;
// with `share_files`, superd's file table too (CLONE_FILES, spawn_slots.h).
// glibc 2.36 has no wrapper that runs a function on a stack for clone3, so this is the
// system call itself (x86-64 only; elsewhere it says ENOSYS). -1 with errno when it
// failed; after a refusal of clone3 (as above) it says ENOSYS at once, and the caller
// forks with fork_into_cgroup().
pid_t vfork_into_cgroup(CgroupJoin& join, char* stack, size_t size, int (*fn)(void*), void* arg,
                        bool share_files = false);

// Whether clone3(CLONE_INTO_CGROUP) has been refused by this kernel (for status).
bool clone_into_cgroup_refused();

}  // namespace superd
