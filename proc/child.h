// The child side of spawn_process(): from fork to exec. Straight-line code using only
// async-signal-safe calls, because the parent is multithreaded (libuv's pool, spdlog).
#pragma once

#include "proc/launch_plan.h"

namespace superd {

[[noreturn]] void run_child(LaunchPlan& plan, int status_fd, int devnull_fd);

}  // namespace superd
