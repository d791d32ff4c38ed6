// superd's use of cgroups (SPEC "Resources (cgroups)"), between the config and proc/'s
// cgroup pieces:
//
//   Cgroups        the daemon's decision, made once before the first spawn: the tree
//                  (proc/cgroup_tree.h) superd moved itself into, or the one line that
//                  says why services run in process groups instead;
//   ServiceCgroup  one service's two leaves (NAME/ and NAME~swap/; a start-new-first
//                  restart puts the new instance in the one the old instance is not
//                  in), each watched for "populated 0", limited as `resources` says,
//                  and removed when empty and no longer needed.
//
// A leaf is known by its owner: the main pid of the instance started in it, which the
// state machine also uses as the instance's process group id; signal_group(pgid) of the
// host therefore reaches the whole cgroup.
#pragma once

#include <sys/types.h>
#include <uv.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/exit_status.h"
#include "proc/cgroup_join.h"
#include "proc/cgroup_limits.h"
#include "proc/cgroup_tree.h"
#include "proc/cgroup_usage.h"
#include "proc/cgroup_watch.h"
#include "supervisor/config.h"

namespace superd {

CgroupLimits limits_of(const ResourcesConfig& resources);

// Where superd's own v2 cgroup was when it decided (before it moved into ROOT/supervisor).
// A re-executed superd decides from there again, not from ROOT/supervisor.
struct CgroupOrigin {
  std::string own_v2;
  std::string own_v2_dir;
};

struct Cgroups {
  std::unique_ptr<CgroupTree> tree;  // null: process groups
  CgroupOrigin origin;
  std::string why_not;               // when tree is null
  ControllerSites sites;
  std::vector<std::string> notes;    // controllers that could not be enabled

  bool used() const { return tree != nullptr; }
  // "cgroups: /sys/fs/cgroup/unified/superd (memory, pids as cgroup v1)" or
  // "cgroups: not used: superd runs in the root cgroup, ...; services run in process groups"
  std::string line() const;
};

// Decides per [supervisor] cgroup and, when `apply`, sets the tree up (superd moves into
// ROOT/supervisor). Without `apply` (superd --check) nothing changes on the system; the
// answer says whether it would work.
// `origin`: a re-exec's, as the previous superd found it.
Cgroups setup_cgroups(const CgroupSetting& setting, bool apply, const CgroupOrigin* origin = nullptr);

// What `resources` of each service cannot get on this host, for --check and status:
// the warnings of unenforceable_limits, and, when cgroups are not used at all, an error
// per service that has limits.
std::vector<LimitIssue> limit_issues(const Cgroups& cgroups, const ResourcesConfig& resources);

class ServiceCgroup {
 public:
  using EmptyFn = std::function<void(pid_t owner)>;
  ServiceCgroup(Cgroups& cgroups, uv_loop_t* loop, std::string service, EmptyFn on_empty);
  ~ServiceCgroup();

  // Before a spawn: the leaf for the new instance (not the one `busy_owner` is in), made
  // if needed, limited, watched; `fds` gets its descriptors. False with *error.
  bool prepare(const ResourcesConfig& resources, pid_t busy_owner, CgroupJoinFds* fds,
               std::string* error);
  // The spawn of the prepared leaf succeeded: `owner` is its main pid.
  void bind(pid_t owner);
  // Re-exec: `owner`'s instance runs in the leaf a previous superd made (NAME~swap when
  // `swap_leaf`); watch it and know it as current. False with *error.
  bool adopt(const ResourcesConfig& resources, pid_t owner, bool swap_leaf, std::string* error);
  bool current_is_swap() const { return current_ == 1; }
  // Whether the leaf of `owner` still has processes (read now).
  bool populated(pid_t owner);
  // `signo` to everything in `owner`'s leaf (SIGKILL: cgroup.kill). False: no such leaf.
  bool signal(pid_t owner, int signo);
  // The exit reason when the OOM killer acted in `owner`'s leaf since it was bound, given
  // how the main process ended; "" when it did not.
  std::string oom_cause(pid_t owner, const ExitStatus& status, const ResourcesConfig& resources);
  // reload-config changed `resources`: write the new limits to the leaves in use.
  void reconfigure(const ResourcesConfig& before, const ResourcesConfig& now);
  // rmdir the leaves that are empty and not needed: every one but the current
  // instance's, and that one too unless `keep_current`.
  void release_idle(bool keep_current);

  // The leaf of the newest instance, or nullptr.
  const CgroupLeaf* current() const;
  CgroupUsage usage() const;
  // Problems of the last limit write, one line each.
  const std::vector<std::string>& issues() const { return issues_; }

 private:
  struct Leaf;
  Leaf* find(pid_t owner);
  void write(Leaf& leaf, const CgroupLimits& limits, const CgroupLimits* before);

  Cgroups& cgroups_;
  uv_loop_t* loop_;
  std::string service_;
  EmptyFn on_empty_;
  std::unique_ptr<Leaf> leaves_[2];  // NAME/ and NAME~swap/
  int current_ = -1;
  int prepared_ = -1;
  std::vector<std::string> issues_;
};

}  // namespace superd
