// The subtree superd was given, laid out as systemd's CGROUP_DELEGATION.md asks:
//
//   ROOT/                  the delegated cgroup: an inner node; superd never writes its
//                          attributes (only cgroup.subtree_control, which the kernel
//                          gives the delegatee, to pass controllers down)
//   ROOT/supervisor/       superd itself, moved there before the first spawn (no
//                          processes in inner nodes)
//   ROOT/<name>/           one leaf per service; a start-new-first restart puts the new
//   ROOT/<name>~swap/      instance in the sibling, so leaves alternate between the two
//   ROOT/.control/         made by systemd for ExecReload= and the like: never touched
//
// Controllers that this host has only as v1 hierarchies (memory, pids, cpu on a hybrid
// host) get a leaf of the same name below superd's own v1 cgroup (never elsewhere):
// V1BASE/<name>/, where V1BASE is superd's own v1 cgroup, or, when [supervisor] cgroup
// names a path, a child of it named after that path's last component (so two superds
// started from the same v1 cgroup never share a leaf). memory and pids leaves always
// exist (usage and limits); a cpu leaf only when a service has cpu settings.
//
// A leaf exists while its service may have processes and is removed (rmdir) when it is
// empty and no longer needed; respawns reuse it.
#pragma once

#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "proc/cgroup_host.h"

namespace superd {

struct CgroupLeaf {
  std::string name;  // directory name below the root
  std::string dir;   // the v2 directory
  std::vector<CgroupHost::V1> v1;  // the v1 leaves it has, by controller

  const std::string* v1_dir(std::string_view controller) const;
};

// The leaf name of a service: its name, or with '_' in front when the name could be taken
// for a kernel attribute file ("memory.max", "tasks") or is one of superd's own leaves,
// as systemd escapes unit names. `swap`: the sibling leaf.
std::string cgroup_leaf_name(std::string_view service, bool swap = false);

class CgroupTree {
 public:
  // Makes ROOT (when choice.create and it is missing) and ROOT/supervisor, moves superd
  // into it, and enables in ROOT/cgroup.subtree_control the controllers superd uses
  // that ROOT offers. nullptr with *error when the tree cannot be used at all; a
  // controller that cannot be enabled only goes to `notes()`. `move_superd` false: leave
  // this process where it is (tests, which run beside the tree they make).
  static std::unique_ptr<CgroupTree> setup(const CgroupHost& host, const CgroupRootChoice& choice,
                                           std::string* error, bool move_superd = true);
  // The same tree without moving or enabling anything (superd's crash recovery before
  // setup, tests).
  static std::unique_ptr<CgroupTree> attach(const CgroupHost& host, const std::string& root,
                                            bool own_root);

  const std::string& root() const { return root_; }
  bool v2_has(std::string_view controller) const { return v2_.count(std::string(controller)) > 0; }
  // Where the v1 leaves of `controller` go; nullptr when it has no v1 hierarchy here (or
  // is in v2).
  const std::string* v1_base(std::string_view controller) const;
  // Why a controller superd uses is not available ("pids: enabling it in
  // /sys/fs/cgroup/x/cgroup.subtree_control: Device or resource busy").
  const std::vector<std::string>& notes() const { return notes_; }

  // The leaf `name` (made if missing, reused if there). `cpu_v1`: also a v1 cpu leaf.
  std::optional<CgroupLeaf> make_leaf(const std::string& name, bool cpu_v1, std::string* error);
  // Adds a v1 leaf of `controller` to `leaf` and moves the leaf's processes into it (a
  // reload that gives a running service cpu settings). False with *error.
  bool add_v1(CgroupLeaf& leaf, std::string_view controller, std::string* error);
  // rmdir of each of its directories; false with *error (EBUSY: still populated).
  bool remove_leaf(const CgroupLeaf& leaf, std::string* error);
  // Leaves found below ROOT (a previous superd's), without supervisor/ and .control/.
  std::vector<CgroupLeaf> existing_leaves() const;

 private:
  CgroupTree() = default;
  void find_v1(const CgroupHost& host, bool own_root);
  CgroupLeaf leaf_at(const std::string& name) const;

  std::string root_;
  std::set<std::string> v2_;  // controllers enabled for the leaves
  std::vector<CgroupHost::V1> v1_bases_;
  std::vector<std::string> notes_;
};

// Every process of the v2 leaf `v2_dir` written into each v1 cgroup of `v1_dirs`, in
// three passes so that a process forked during one is caught by the next. False with
// *error when the v2 leaf's processes could not be read.
bool move_into_v1(const std::string& v2_dir, const std::vector<std::string>& v1_dirs, std::string* error);

}  // namespace superd
