// The `resources` table of a service (SPEC "Resources (cgroups)"), and how superd finds
// the cgroup subtree it may use ([supervisor] cgroup).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace superd {

struct ResourcesConfig {
  std::optional<uint64_t> memory_max;   // bytes; the kernel's OOM killer acts inside it
  std::optional<uint64_t> memory_high;  // bytes; throttle and reclaim above this
  std::optional<uint64_t> pids_max;
  std::optional<uint32_t> cpu_weight;   // 1..10000
  std::optional<uint32_t> cpu_max_percent;  // "150%" -> 150: at most 1.5 CPUs

  bool operator==(const ResourcesConfig&) const = default;
  bool empty() const { return *this == ResourcesConfig{}; }
};

struct CgroupSetting {
  enum class Mode { automatic, off, path };  // "auto" | "off" | an absolute path
  Mode mode = Mode::automatic;
  std::string path;  // Mode::path: under the cgroup2 mount (/sys/fs/cgroup/...)
  bool operator==(const CgroupSetting&) const = default;
};

}  // namespace superd
