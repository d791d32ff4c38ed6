// Signalling everything in a service's leaf, whatever process group or session each
// process made for itself (a double fork and setsid does not leave a cgroup).
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

namespace superd {

// The pids in DIR/cgroup.procs; nullopt with *error.
std::optional<std::vector<pid_t>> cgroup_pids(const std::string& dir, std::string* error);

// `signo` to every process listed in the leaf (stop_signal with stop_mode = group, or to
// the rest of a service after its main process ended). Returns how many were signalled.
int signal_cgroup(const std::string& dir, int signo);

// SIGKILL to every process in the leaf and below: one write of cgroup.kill (kernel
// 5.14+), else freeze the leaf, SIGKILL each pid in cgroup.procs until none is listed
// (at most 50 rounds), thaw. False with *error when it could do neither.
bool kill_cgroup(const std::string& dir, std::string* error);

// DIR/cgroup.events "populated": nullopt with *error when it cannot be read.
std::optional<bool> cgroup_populated(const std::string& dir, std::string* error);

}  // namespace superd
