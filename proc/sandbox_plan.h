// A SandboxSpec made ready for fork. plan_sandbox() does in the parent everything that
// allocates or reads the system: it orders and deduplicates the path rules, resolves
// their symbolic links, looks up the devices a private /dev gets, stages the empty nodes
// that make a path inaccessible, packs the capability sets, and compiles every seccomp
// filter with libseccomp into BPF. The child (sandbox_child.cc) then only makes
// syscalls on this data, in SPEC's order.
//
// Each step that can fail in the child carries a `label` (an index into `labels`), which
// the child reports with its errno, so the parent can say which step failed:
// "sandbox: mount /var/lib/redis: No such file or directory".
#pragma once

#include <linux/filter.h>
#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/exit_status.h"
#include "proc/sandbox_spec.h"

namespace superd {

struct SandboxMountStep {
  enum class Op : uint8_t {
    inaccessible,  // bind the staged empty node of the path's type, then read-only
    read_only,     // bind onto itself unless it is a mount already, then read-only, recursively
    read_write,    // the same, then writable, recursively
    tmpfs,         // a fresh tmpfs: `flags` and `options`
    private_dev,   // a tmpfs on /dev with the nodes of SandboxPlan::devices
  };
  Op op = Op::read_only;
  std::string path;
  bool ignore_missing = false;
  unsigned long flags = 0;  // tmpfs: MS_* flags
  std::string options;      // tmpfs: "mode=1777"
  int label = -1;
};

// One node of a private /dev, copied from the host's.
struct SandboxDevice {
  enum class Kind : uint8_t { node, directory_bind, symlink };
  Kind kind = Kind::node;
  std::string path;    // "/dev/null"
  mode_t mode = 0;     // node: type and permissions
  dev_t rdev = 0;      // node
  std::string target;  // symlink: what it points to
};

// A socket superd passes by path (NOTIFY_SOCKET): if the mounts hid it, it is bound back
// at the same path, with its parents created on whatever now covers them.
struct SandboxKeepPath {
  std::string path;
  std::vector<std::string> parents;  // "/tmp", "/tmp/superd-test.x", ... (outermost first)
  int label = -1;
};

struct SeccompProgram {
  std::vector<sock_filter> code;
  int label = -1;
};

struct SandboxPlan {
  bool active = false;  // anything to do at all

  int unshare_flags = 0;  // CLONE_NEWNS, CLONE_NEWUTS
  int namespace_label = -1;
  std::vector<SandboxMountStep> mounts;
  std::vector<SandboxDevice> devices;
  std::string inaccessible_dir;   // holds "dir" and "file", mode 0000
  std::string inaccessible_dir_node;   // inaccessible_dir + "/dir"
  std::string inaccessible_file_node;  // inaccessible_dir + "/file"
  std::vector<SandboxKeepPath> keep;

  bool drop_bounding = false;
  uint64_t bounding = ~uint64_t{0};  // kept
  int bounding_label = -1;
  uint64_t ambient = 0;
  int ambient_label = -1;
  std::vector<int> ambient_labels;  // one per bit of `ambient`, lowest first

  bool no_new_privileges = false;
  bool no_new_privileges_unless_sys_admin = false;
  int no_new_privileges_label = -1;

  std::vector<SeccompProgram> seccomp;  // loaded in order, the last one last

  std::vector<std::string> labels;
};

// Build `plan` from `spec`. A failure (a filter libseccomp refused, the staging directory
// unusable) is reported like an exec failure, without forking.
std::optional<SpawnFailure> plan_sandbox(const SandboxSpec& spec,
                                         const std::vector<std::string>& keep_paths,
                                         SandboxPlan& plan);

}  // namespace superd
