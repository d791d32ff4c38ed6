// The child's half of a sandbox: straight-line syscalls on a SandboxPlan, no allocation,
// no locks, nothing but async-signal-safe calls (the parent is multithreaded). Called by
// run_child() (child.cc) at three points, which give SPEC's order:
//
//   sandbox_enter()       before chdir and the change of ids, while the child is still
//                         root with every capability: the new mount and UTS namespaces
//                         and every mount, then the bounding set (PR_CAPBSET_DROP needs
//                         CAP_SETPCAP), then PR_SET_KEEPCAPS when ambient ones must
//                         survive setuid;
//   sandbox_after_ids()   after setgid/setgroups/setuid: the kept capabilities (capset),
//                         the ambient set, no_new_privs;
//   sandbox_seccomp()     last, right before execve, so the filters judge the service's
//                         calls and as few of superd's as possible.
//
// Each returns a report with stage `none` on success, or the stage, errno and label of
// the step that failed, for run_child() to send up the status pipe.
#pragma once

#include "proc/exec_status.h"
#include "proc/sandbox_plan.h"

namespace superd {

ExecReport sandbox_enter(const SandboxPlan& plan, bool change_ids);
ExecReport sandbox_after_ids(const SandboxPlan& plan, bool change_ids);
ExecReport sandbox_seccomp(const SandboxPlan& plan);

}  // namespace superd
