// Putting a new process in its cgroup before it runs any code of the service.
//
// The parent opens, before fork, the v2 leaf's directory and the cgroup.procs files it
// may need (CgroupJoinFds), and hands the plain descriptors to the child (CgroupJoin,
// inside the LaunchPlan). spawn_process() then creates the child with
// clone3(CLONE_INTO_CGROUP), so it is in the v2 leaf from its first instruction; where
// the kernel refuses clone3 (older than 5.7, or a seccomp filter says ENOSYS/EPERM), it
// forks and the child writes "0" (itself) into the leaf's cgroup.procs first thing.
// v1 leaves (controllers that this host has only as v1) cannot be entered by clone3:
// the child always writes itself into those, still before anything else.
#pragma once

#include <string>

#include "base/fd.h"
#include "proc/cgroup_tree.h"

namespace superd {

inline constexpr int kMaxV1Joins = 3;  // memory, pids, cpu

// What the child sees: descriptors only (no allocation after fork).
struct CgroupJoin {
  int dir_fd = -1;    // the v2 leaf, O_DIRECTORY: for CLONE_INTO_CGROUP
  int procs_fd = -1;  // the v2 leaf's cgroup.procs: for the fork fallback
  int v1_procs_fds[kMaxV1Joins] = {-1, -1, -1};
  bool placed = false;  // set by spawn_process: clone3 put the child in the v2 leaf
  std::string dir;      // for messages ("joining cgroup DIR: ...")

  bool active() const { return dir_fd >= 0; }
};

// The parent's side: owns the descriptors of one spawn.
class CgroupJoinFds {
 public:
  // Opens the descriptors of `leaf`; false with *error ("cgroup: open DIR: ...").
  bool open(const CgroupLeaf& leaf, std::string* error);
  CgroupJoin view() const;

 private:
  std::string dir_;
  UniqueFd dir_fd_;
  UniqueFd procs_fd_;
  UniqueFd v1_procs_[kMaxV1Joins];
};

// In the child, before anything else: writes itself into the v2 leaf (unless clone3
// already placed it) and into every v1 leaf. Async-signal-safe: write(2) only. False
// with errno set when a write failed.
bool join_cgroups(const CgroupJoin& join);

}  // namespace superd
