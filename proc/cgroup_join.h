// Putting a new process in its cgroup before it runs any code of the service.
//
// The parent opens, before fork, the v2 leaf's directory and the cgroup.procs files it
// may need (CgroupJoinFds), and hands the plain descriptors to the child (CgroupJoin,
// inside the LaunchPlan). spawn_process() then creates the child with
// clone3(CLONE_INTO_CGROUP), so it is in the v2 leaf from its first instruction; where
// the kernel refuses clone3 (older than 5.7, or a seccomp filter says ENOSYS/EPERM), it
// forks and the child writes "0" (itself) into the leaf's cgroup.procs first thing.
// v1 leaves (controllers that this host has only as v1) cannot be entered by clone3.
// Entering one waits for an RCU grace period (the kernel write-locks its
// cgroup_threadgroup_rwsem; a host booted with cgroup_favordynmods=true does not wait):
// 5-7 ms, which used to be most of a respawn's cost in a cgroup. So the child writes
// itself, before anything else, only into the v1 leaves of the controllers the service
// has a limit for (its memory, pids or cpu limit holds from its first instruction); the
// leaves that only count (usage in `status`) are joined right after the spawn, off the
// loop (join_v1_after_spawn), and their counts miss the service's first moments.
#pragma once

#include <uv.h>

#include <functional>
#include <string>
#include <vector>

#include "base/fd.h"
#include "proc/cgroup_limits.h"
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
  // Opens the descriptors of `leaf`, every v1 leaf joined by the child; false with
  // *error ("cgroup: open DIR: ...").
  bool open(const CgroupLeaf& leaf, std::string* error);
  // The same, the child joining only the v1 leaves whose controller `limits` uses; the
  // others are in deferred().
  bool open(const CgroupLeaf& leaf, const CgroupLimits& limits, std::string* error);
  CgroupJoin view() const;
  const std::vector<std::string>& deferred() const { return deferred_; }

 private:
  bool open_v1(const CgroupLeaf& leaf, const CgroupLimits* limits, std::string* error);

  std::string dir_;
  std::vector<std::string> deferred_;  // v1 leaves to join after the spawn
  UniqueFd dir_fd_;
  UniqueFd procs_fd_;
  UniqueFd v1_procs_[kMaxV1Joins];
};

// In the child, before anything else: writes itself into the v2 leaf (unless clone3
// already placed it) and into every v1 leaf. Async-signal-safe: write(2) only. False
// with errno set when a write failed.
bool join_cgroups(const CgroupJoin& join);

// After a spawn, on libuv's thread pool: every process in the v2 leaf `v2_dir` (the new
// instance, and what it forked meanwhile) is written into each of `v1_dirs`, in three
// passes so a process forked during one is caught by the next. `done` runs on the loop
// with "" or the first error; it must not need anything that can be gone by then.
void join_v1_after_spawn(uv_loop_t* loop, std::string v2_dir, std::vector<std::string> v1_dirs,
                         std::function<void(const std::string& error)> done);

}  // namespace superd
