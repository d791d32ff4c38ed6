// What this host offers superd in cgroups, and which subtree superd may use.
//
// describe_host() (pure) puts /proc/self/cgroup and /proc/self/mountinfo together: the
// cgroup2 mount and superd's own v2 cgroup, and for each of the controllers superd uses
// (memory, pids, cpu) that is mounted as a v1 hierarchy (hybrid and legacy hosts),
// superd's own cgroup directory in it. v1 children are only ever made below that own
// directory, never elsewhere in a v1 tree.
//
// choose_cgroup_root() (pure) applies `[supervisor] cgroup` the way systemd's
// CGROUP_DELEGATION.md asks:
//   "off"   no cgroups: process groups, as before;
//   "auto"  the cgroup superd was started in, if it was delegated to superd: under
//           systemd only with Delegate=yes (systemd marks the cgroup with the
//           trusted.delegate xattr); never the host's root cgroup (it belongs to the
//           init system), except when superd is PID 1 (a container's own root);
//   PATH    that directory on the cgroup2 mount (made if missing), for hosts where
//           superd is started by something that delegates nothing.
// The answer says why not in one line when cgroups are not used; superd then runs its
// services in process groups and says so.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace superd {

struct CgroupHost {
  std::string v2_mount;  // where cgroup2 is mounted; empty: nowhere
  std::string own_v2;    // superd's v2 cgroup as /proc/self/cgroup says ("/" is the root)
  std::string own_v2_dir;  // its directory; empty when the mount does not show it
  struct V1 {
    std::string controller;  // "memory", "pids" or "cpu"
    std::string own_dir;     // superd's own cgroup in that hierarchy
  };
  std::vector<V1> v1;

  // superd's own v1 cgroup directory for `controller`, or nullptr.
  const std::string* v1_dir(std::string_view controller) const;
};

// The controllers superd writes limits to, in the order it reports about them.
inline constexpr std::string_view kCgroupControllers[] = {"memory", "pids", "cpu"};

CgroupHost describe_host(std::string_view proc_self_cgroup, std::string_view mountinfo);
// The same from this process's /proc files; nullopt with *error if they cannot be read.
std::optional<CgroupHost> read_cgroup_host(std::string* error);

enum class CgroupMode { automatic, off, path };

// What choose_cgroup_root() needs to know about the system besides the host.
struct CgroupFacts {
  bool pid1 = false;           // superd is PID 1 (a container's root, or init itself)
  bool under_systemd = false;  // /run/systemd/system exists
  bool delegated = false;      // the own v2 cgroup carries systemd's delegate xattr
};
CgroupFacts read_cgroup_facts(const CgroupHost& host);

struct CgroupRootChoice {
  std::string root;     // the delegated subtree to use; empty: none
  std::string why_not;  // when root is empty: "superd runs in the root cgroup, ..."
  bool create = false;  // root does not have to exist yet (cgroup = PATH)
};
CgroupRootChoice choose_cgroup_root(const CgroupHost& host, CgroupMode mode,
                                    const std::string& path, const CgroupFacts& facts);

// Can superd use `root` without changing anything (for `superd --check` and before the
// first spawn): a directory on the cgroup2 mount whose cgroup.procs and
// cgroup.subtree_control are writable, or, when `create`, whose parent is. Empty when
// fine, else why not ("/sys/fs/cgroup/x is not writable: Read-only file system").
std::string probe_cgroup_root(const std::string& root, bool create);

}  // namespace superd
