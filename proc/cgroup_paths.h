// Where the cgroup hierarchies are and where superd sits in them, read from the two
// files the kernel keeps for every process (pure parsing, unit tested on fixture text):
//
//   /proc/self/cgroup     "0::/system.slice/superd.service" (v2), and on hybrid or legacy
//                         hosts one line per v1 hierarchy: "4:memory:/process_api/x"
//   /proc/self/mountinfo  where each hierarchy is mounted. The v2 mount is not assumed to
//                         be /sys/fs/cgroup: on a hybrid host it is /sys/fs/cgroup/unified.
//
// A v1 mount may show only part of its hierarchy (field 4, the mount's root, is
// "/docker/abc" in some containers); the directory of a cgroup is the mount point plus
// the cgroup's path below that root.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace superd {

struct ProcCgroupLine {
  int hierarchy = 0;                     // 0: the v2 hierarchy
  std::vector<std::string> controllers;  // "memory", "cpu", "cpuacct", "name=systemd"; empty for v2
  std::string path;                      // "/process_api/x", always starting with '/'
};

// Malformed lines are skipped.
std::vector<ProcCgroupLine> parse_proc_cgroup(std::string_view text);

struct MountEntry {
  std::string root;         // the part of the file system mounted there ("/" usually)
  std::string mount_point;  // octal escapes (\040) decoded
  std::string fstype;       // "cgroup2", "cgroup", "tmpfs", ...
  std::vector<std::string> super_options;  // "rw", "memory", "nsdelegate", ...
};

// Only the cgroup and cgroup2 mounts; malformed lines are skipped.
std::vector<MountEntry> parse_cgroup_mounts(std::string_view mountinfo);

// The directory of `cgroup_path` (as /proc/self/cgroup says it) on `mount`; nullopt when
// the mount does not show that cgroup (it lies outside the mount's root).
std::optional<std::string> cgroup_dir(const MountEntry& mount, std::string_view cgroup_path);

}  // namespace superd
