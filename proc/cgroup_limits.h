// `resources` limits, written to a service's leaf: v2 files where the controller is in
// v2, the v1 files of the same meaning where this host has it only as a v1 hierarchy:
//
//   limit        v2                    v1
//   memory_max   memory.max            memory.limit_in_bytes
//   memory_high  memory.high           (none: reported, not enforced)
//   pids_max     pids.max              pids.max
//   cpu_weight   cpu.weight            cpu.shares (weight * 1024 / 100, as systemd)
//   cpu_max      cpu.max "Q 100000"    cpu.cfs_period_us 100000, cpu.cfs_quota_us Q
//
// A limit this host cannot enforce is a LimitIssue, never silently dropped: a warning
// when the host lacks the controller (or v1 lacks the file), an error when the
// controller is there but writing failed.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "proc/cgroup_host.h"
#include "proc/cgroup_tree.h"

namespace superd {

struct CgroupLimits {
  std::optional<uint64_t> memory_max;  // bytes
  std::optional<uint64_t> memory_high;
  std::optional<uint64_t> pids_max;
  std::optional<uint32_t> cpu_weight;       // 1..10000
  std::optional<uint32_t> cpu_max_percent;  // 150: 1.5 CPUs

  bool operator==(const CgroupLimits&) const = default;
  bool empty() const { return *this == CgroupLimits{}; }
  bool wants_cpu() const { return cpu_weight || cpu_max_percent; }
  // Whether a limit is written to `controller` ("memory", "pids" or "cpu").
  bool uses(std::string_view controller) const {
    if (controller == "memory") return memory_max || memory_high;
    if (controller == "pids") return pids_max.has_value();
    return controller == "cpu" && wants_cpu();
  }
};

struct LimitIssue {
  std::string key;      // "memory_high"
  std::string message;  // the whole line: "memory_high: cgroup v1 has no memory.high, ..."
  bool error = false;   // the controller is there but the limit could not be written
};

// Where each controller superd uses is, for the leaves of one tree.
enum class Site { none, v2, v1 };
struct ControllerSites {
  Site memory = Site::none;
  Site pids = Site::none;
  Site cpu = Site::none;
};
ControllerSites sites_of(const CgroupTree& tree);
// Before any tree exists (`superd --check`): v2 controllers that `root_controllers`
// (the root's cgroup.controllers) offers, else the host's v1 hierarchies.
ControllerSites sites_of(const CgroupHost& host, std::string_view root_controllers);

// The limits this host cannot enforce at all (warnings), without writing anything.
std::vector<LimitIssue> unenforceable_limits(const ControllerSites& sites,
                                             const CgroupLimits& limits);

// Writes `limits` to the leaf. `previous`: what was written before (reload-config), so
// that a limit taken out is set back to the kernel's default; nullptr for a new leaf,
// where only the limits that are set are written. Returns the problems, warnings
// (unenforceable_limits) included.
std::vector<LimitIssue> write_limits(const ControllerSites& sites, const CgroupLeaf& leaf,
                                     const CgroupLimits& limits, const CgroupLimits* previous);

// systemd's conversion of CPUWeight= to cpu.shares.
uint64_t cpu_weight_to_shares(uint32_t weight);

}  // namespace superd
