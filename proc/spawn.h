// Spawning a process: our own fork/exec, because uv_spawn drops supplementary groups and
// only reaps its own children. spawn_process() forks a LaunchPlan (launch_plan.h); the
// child runs only async-signal-safe calls (child.cc) and reports a failure as
// {stage, errno} through a close-on-exec pipe whose read end the caller keeps.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "base/exit_status.h"
#include "base/fd.h"
#include "proc/launch_plan.h"

namespace superd {

// What is needed to word an exec failure after the plan is gone.
struct ExecContext {
  std::string program;
  std::string user;
  std::string directory;
  std::string cgroup;
  std::vector<std::string> sandbox_labels;  // names the failed sandbox step
};

struct Spawned {
  pid_t pid;
  UniqueFd exec_status;  // read end: EOF after a successful exec, an ExecReport if not
  ExecContext context;
};

std::variant<Spawned, SpawnFailure> spawn_process(LaunchPlan& plan);

// What a child has said about its exec so far, read without blocking.
struct ExecOutcome {
  enum class Kind { pending, succeeded, failed };
  Kind kind = Kind::pending;
  std::optional<SpawnFailure> failure;  // Kind::failed
};
ExecOutcome read_exec_outcome(int status_fd, const ExecContext& context);

}  // namespace superd
