// The child side of spawn_process(): from fork to exec. Straight-line code using only
// async-signal-safe calls, because the parent is multithreaded (libuv's pool, spdlog),
// and writing no memory but its own stack and this spawn's scratch in the plan
// (child_listen_fds, LISTEN_PID's digits): on the plain path the child shares superd's
// memory until it execs (spawn.cc).
#pragma once

#include "proc/launch_plan.h"

namespace superd {

[[noreturn]] void run_child(LaunchPlan& plan, int status_fd, int devnull_fd);

}  // namespace superd
