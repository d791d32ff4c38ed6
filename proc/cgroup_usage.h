// What a service's leaf has used, read on demand (status asks; nothing polls):
//
//   memory_current  v2 memory.current          v1 memory.usage_in_bytes
//   memory_peak     v2 memory.peak             v1 memory.max_usage_in_bytes
//   cpu_usage_usec  v2 cpu.stat usage_usec (there without the cpu controller)
//   pids_current    v2 pids.current            v1 pids.current, else the lines of
//                                              v2 cgroup.threads (tasks, as pids counts)
//   oom_kills       v2 memory.events oom_kill  v1 memory.oom_control oom_kill
//
// The peak is the leaf's, and a leaf lives from a service's start to its stop (respawns
// reuse it): the highest use since the service was started.
#pragma once

#include <cstdint>
#include <optional>

#include "proc/cgroup_tree.h"

namespace superd {

struct CgroupUsage {
  std::optional<uint64_t> memory_current;
  std::optional<uint64_t> memory_peak;
  std::optional<uint64_t> cpu_usage_usec;
  std::optional<uint64_t> pids_current;
  std::optional<uint64_t> oom_kills;
};

CgroupUsage read_cgroup_usage(const CgroupLeaf& leaf);
// Only the OOM kill counter (read at spawn and at exit, to name an OOM kill).
std::optional<uint64_t> read_oom_kills(const CgroupLeaf& leaf);

}  // namespace superd
