// The child side of spawn_process(): from fork to exec. Straight-line code using only
// async-signal-safe calls, because the parent is multithreaded (libuv's pool, spdlog),
// and writing no memory but its own stack and the plan's scratch (child_listen_fds):
// without a cgroup leaf the child shares superd's memory until it execs (spawn.cc).
#pragma once

#include "proc/launch_plan.h"

namespace superd {

[[noreturn]] void run_child(LaunchPlan& plan, int status_fd, int devnull_fd);

}  // namespace superd
