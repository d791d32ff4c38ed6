// Crash recovery by cgroup: the leaves a dead superd left below its root hold every
// process of its services, however they forked or whatever session they made. Each
// populated leaf gets its service's stop_signal, then, after stop_timeout, cgroup.kill;
// the wait is on the leaves' cgroup.events (inotify), bounded by the longest timeout
// plus a grace period for the KILL. Empty leaves are removed. See proc/leftovers.h for
// why leftovers are stopped and not adopted.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "proc/cgroup_tree.h"

namespace superd {

struct CgroupLeftover {
  CgroupLeaf leaf;
  int stop_signal = 15;
  std::chrono::milliseconds stop_timeout{10000};
};

// One line per leaf that had processes: "app: stopped 3 processes left by the previous
// superd (TERM)". Leaves it could not empty are named too.
std::vector<std::string> stop_cgroup_leftovers(CgroupTree& tree,
                                               const std::vector<CgroupLeftover>& leftovers);

}  // namespace superd
