// Loading the `resources` table of a service and `[supervisor] cgroup` (SPEC "Resources
// (cgroups)"), self-contained so the config loader wires each in with one call: the
// caller passes the TOML node and an error sink; each problem goes to the sink with the
// node it is about (the loader turns that into FILE:LINE:COL), and loading goes on, so
// every problem of the table is reported in one pass. Nothing here throws.
//
//   [service.worker.resources]
//   memory_max  = "1GB"     # a size ("50MB", "1GiB") or integer bytes, > 0
//   memory_high = "800MB"   # likewise; not above memory_max
//   pids_max    = 256       # 1 .. 4194304
//   cpu_weight  = 100       # 1 .. 10000
//   cpu_max     = "150%"    # percent of one CPU, 1% .. 100000%
//
//   [supervisor]
//   cgroup = "auto"         # "auto" | "off" | an absolute path below /sys/fs/cgroup/
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <toml++/toml.h>

#include "supervisor/config_resources.h"

namespace superd {

using ConfigErrorSink = std::function<void(const toml::node& where, std::string message)>;

inline constexpr std::string_view kResourcesKeys[] = {"memory_max", "memory_high", "pids_max",
                                                      "cpu_weight", "cpu_max"};

// Reads the table at `node` into `out` (keys not given keep their value, so a service
// starts from what [defaults] said). `where` names the table in messages ("service
// 'app'"). False when anything was refused.
bool load_resources(const toml::node& node, std::string_view where, ResourcesConfig& out,
                    const ConfigErrorSink& error);

// The value of [supervisor] cgroup; nullopt after reporting.
std::optional<CgroupSetting> load_cgroup_setting(const toml::node& node,
                                                 const ConfigErrorSink& error);

// "1GB", "50MB", "512MiB", "1234B": a size as a user would write it back.
std::string format_size(uint64_t bytes);

}  // namespace superd
