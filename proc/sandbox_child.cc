#include "proc/sandbox_child.h"

#include <fcntl.h>
#include <linux/capability.h>
#include <linux/mount.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

namespace superd {
namespace {

constexpr ExecReport kOk{ExecStage::none, 0, -1};

ExecReport failed(ExecStage stage, int label) { return {stage, errno, label}; }

bool ok(const ExecReport& r) { return r.stage == ExecStage::none; }

// "/proc/self/fd/N" into `out` (room for 32 bytes): the path through which mount(2) binds
// what an fd opened earlier refers to, even once that place is covered.
const char* fd_path(char* out, int fd) {
  static constexpr char kPrefix[] = "/proc/self/fd/";
  char* at = out;
  for (const char* p = kPrefix; *p; ++p) *at++ = *p;
  char digits[12];
  int n = 0;
  do {
    digits[n++] = static_cast<char>('0' + fd % 10);
    fd /= 10;
  } while (fd > 0 && n < 11);
  while (n > 0) *at++ = digits[--n];
  *at = '\0';
  return out;
}

int set_mount_attr(const char* path, unsigned flags, uint64_t set, uint64_t clear) {
  mount_attr attr{};
  attr.attr_set = set;
  attr.attr_clr = clear;
  return static_cast<int>(::syscall(SYS_mount_setattr, AT_FDCWD, path, flags, &attr, sizeof attr));
}

// 1: `path` is the root of a mount, 0: it is not, -1: it cannot be looked at (errno).
int is_mount_root(const char* path) {
  struct statx stx {};
  if (::statx(AT_FDCWD, path, 0, STATX_TYPE, &stx) < 0) return -1;
  if (path[0] == '/' && path[1] == '\0') return 1;
  if (!(stx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT)) return 0;  // kernel < 5.8: bind anyway
  return (stx.stx_attributes & STATX_ATTR_MOUNT_ROOT) ? 1 : 0;
}

// fds opened after unshare (so they name mounts of the new namespace) and closed when
// the mounts are done.
struct OpenFds {
  static constexpr int kMax = 16;
  int fd[kMax];
  int count = 0;
  int add(int f) {
    if (f >= 0 && count < kMax) fd[count++] = f;
    return f;
  }
  ~OpenFds() {
    for (int i = 0; i < count; ++i) ::close(fd[i]);
  }
};

// Read-only (or writable again) from `path` down, bound onto itself first when it is not
// a mount of its own (mount_setattr acts on whole mounts).
int remount_tree(const char* path, bool read_only) {
  int root = is_mount_root(path);
  if (root < 0) return -1;
  if (root == 0 && ::mount(path, path, nullptr, MS_BIND | MS_REC, nullptr) < 0) return -1;
  return read_only ? set_mount_attr(path, AT_RECURSIVE, MOUNT_ATTR_RDONLY, 0)
                   : set_mount_attr(path, AT_RECURSIVE, 0, MOUNT_ATTR_RDONLY);
}

int make_inaccessible(const char* path, int dir_fd, int file_fd) {
  struct stat st {};
  if (::stat(path, &st) < 0) return -1;
  char source[32];
  if (::mount(fd_path(source, S_ISDIR(st.st_mode) ? dir_fd : file_fd), path, nullptr, MS_BIND,
              nullptr) < 0) {
    return -1;
  }
  return set_mount_attr(path, 0,
                        MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC, 0);
}

// A tmpfs on /dev with copies of the API devices, the host's pts/shm/mqueue/hugepages
// bound in (writable, as on the host), the usual symlinks, and then the tmpfs itself
// read-only.
int private_dev(const SandboxPlan& plan) {
  int bound[OpenFds::kMax];
  int nbound = 0;
  OpenFds fds;
  for (const auto& d : plan.devices) {
    if (d.kind != SandboxDevice::Kind::directory_bind || nbound == OpenFds::kMax) continue;
    bound[nbound++] = fds.add(::open(d.path.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  }
  if (::mount("tmpfs", "/dev", "tmpfs", MS_NOSUID | MS_NOEXEC | MS_STRICTATIME, "mode=0755") < 0) {
    return -1;
  }
  const mode_t saved = ::umask(0);
  int b = 0;
  int rc = 0;
  for (const auto& d : plan.devices) {
    switch (d.kind) {
      case SandboxDevice::Kind::node:
        rc = ::mknod(d.path.c_str(), d.mode, d.rdev);
        break;
      case SandboxDevice::Kind::symlink:
        rc = ::symlink(d.target.c_str(), d.path.c_str());
        break;
      case SandboxDevice::Kind::directory_bind: {
        if (b >= nbound) break;
        int fd = bound[b++];
        if (fd < 0) break;  // gone from the host since the plan: nothing to bind
        char source[32];
        rc = ::mkdir(d.path.c_str(), 0755);
        if (rc == 0) rc = ::mount(fd_path(source, fd), d.path.c_str(), nullptr, MS_BIND | MS_REC, nullptr);
        // Writable as on the host, whatever a read-only "/" above made of the original.
        if (rc == 0) rc = set_mount_attr(d.path.c_str(), AT_RECURSIVE, 0, MOUNT_ATTR_RDONLY);
        break;
      }
    }
    if (rc < 0) break;
  }
  ::umask(saved);
  if (rc < 0) return -1;
  return set_mount_attr("/dev", 0, MOUNT_ATTR_RDONLY, 0);
}

ExecReport mount_step(const SandboxPlan& plan, const SandboxMountStep& step, int dir_fd, int file_fd) {
  const char* path = step.path.c_str();
  int rc = 0;
  switch (step.op) {
    case SandboxMountStep::Op::inaccessible: rc = make_inaccessible(path, dir_fd, file_fd); break;
    case SandboxMountStep::Op::read_only: rc = remount_tree(path, true); break;
    case SandboxMountStep::Op::read_write: rc = remount_tree(path, false); break;
    case SandboxMountStep::Op::tmpfs:
      rc = ::mount("tmpfs", path, "tmpfs", step.flags, step.options.c_str());
      break;
    case SandboxMountStep::Op::private_dev: rc = private_dev(plan); break;
  }
  if (rc < 0 && !(step.ignore_missing && errno == ENOENT)) return failed(ExecStage::sandbox_mount, step.label);
  return kOk;
}

// Bind `keep.path` back from `fd` (opened before the mounts) unless it still is the same
// file there.
ExecReport keep_reachable(const SandboxKeepPath& keep, int fd) {
  struct stat before {}, now {};
  if (::fstat(fd, &before) < 0) return failed(ExecStage::sandbox_mount, keep.label);
  if (::stat(keep.path.c_str(), &now) == 0 && now.st_dev == before.st_dev && now.st_ino == before.st_ino) {
    return kOk;
  }
  const mode_t saved = ::umask(0);
  for (const auto& dir : keep.parents) {
    if (::mkdir(dir.c_str(), 0755) < 0 && errno != EEXIST) {
      ::umask(saved);
      return failed(ExecStage::sandbox_mount, keep.label);
    }
  }
  ::umask(saved);
  int placeholder = ::open(keep.path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0);
  if (placeholder < 0 && errno != EEXIST && errno != ENXIO) return failed(ExecStage::sandbox_mount, keep.label);
  if (placeholder >= 0) ::close(placeholder);
  char source[32];
  if (::mount(fd_path(source, fd), keep.path.c_str(), nullptr, MS_BIND, nullptr) < 0) {
    return failed(ExecStage::sandbox_mount, keep.label);
  }
  return kOk;
}

ExecReport enter_mount_namespace(const SandboxPlan& plan) {
  // Nothing mounted here may reach the host; the host's later mounts still reach us.
  if (::mount(nullptr, "/", nullptr, MS_SLAVE | MS_REC, nullptr) < 0) {
    return failed(ExecStage::sandbox_namespace, plan.namespace_label);
  }
  OpenFds fds;
  int dir_fd = -1, file_fd = -1;
  for (const auto& step : plan.mounts) {
    if (step.op != SandboxMountStep::Op::inaccessible) continue;
    dir_fd = fds.add(::open(plan.inaccessible_dir_node.c_str(), O_PATH | O_CLOEXEC));
    file_fd = fds.add(::open(plan.inaccessible_file_node.c_str(), O_PATH | O_CLOEXEC));
    if (dir_fd < 0 || file_fd < 0) return failed(ExecStage::sandbox_mount, step.label);
    break;
  }
  int keep_fd[OpenFds::kMax];
  const int nkeep = plan.keep.size() < 8 ? static_cast<int>(plan.keep.size()) : 8;
  for (int i = 0; i < nkeep; ++i) {
    keep_fd[i] = fds.add(::open(plan.keep[i].path.c_str(), O_PATH | O_CLOEXEC));
  }

  for (const auto& step : plan.mounts) {
    ExecReport r = mount_step(plan, step, dir_fd, file_fd);
    if (!ok(r)) return r;
  }
  for (int i = 0; i < nkeep; ++i) {
    if (keep_fd[i] < 0) continue;  // no such socket (yet): nothing to keep
    ExecReport r = keep_reachable(plan.keep[i], keep_fd[i]);
    if (!ok(r)) return r;
  }
  // The propagation systemd leaves a namespace with: shared among its own mounts (still
  // a slave of the host's).
  if (::mount(nullptr, "/", nullptr, MS_SHARED | MS_REC, nullptr) < 0) {
    return failed(ExecStage::sandbox_namespace, plan.namespace_label);
  }
  return kOk;
}

int get_caps(__user_cap_data_struct (&data)[2]) {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  return static_cast<int>(::syscall(SYS_capget, &header, data));
}

int set_caps(__user_cap_data_struct (&data)[2]) {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  return static_cast<int>(::syscall(SYS_capset, &header, data));
}

void set_mask(uint32_t __user_cap_data_struct::*field, __user_cap_data_struct (&data)[2], uint64_t mask) {
  data[0].*field = static_cast<uint32_t>(mask);
  data[1].*field = static_cast<uint32_t>(mask >> 32);
}

}  // namespace

ExecReport sandbox_enter(const SandboxPlan& plan, bool change_ids) {
  if (!plan.active) return kOk;
  if (plan.unshare_flags != 0 && ::unshare(plan.unshare_flags) < 0) {
    return failed(ExecStage::sandbox_namespace, plan.namespace_label);
  }
  if (plan.unshare_flags & CLONE_NEWNS) {
    ExecReport r = enter_mount_namespace(plan);
    if (!ok(r)) return r;
  }
  if (plan.drop_bounding) {
    for (int cap = 0; cap < 64; ++cap) {
      if (plan.bounding & (uint64_t{1} << cap)) continue;
      if (::prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0) {
        if (errno == EINVAL) break;  // past the kernel's last capability
        return failed(ExecStage::sandbox_capabilities, plan.bounding_label);
      }
    }
  }
  // setuid() clears the permitted set unless told to keep it.
  if (plan.ambient != 0 && change_ids && ::prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0) {
    return failed(ExecStage::sandbox_capabilities, plan.ambient_label);
  }
  return kOk;
}

ExecReport sandbox_after_ids(const SandboxPlan& plan, bool change_ids) {
  if (!plan.active) return kOk;
  if (plan.ambient != 0) {
    __user_cap_data_struct data[2] = {};
    if (get_caps(data) < 0) return failed(ExecStage::sandbox_capabilities, plan.ambient_label);
    // Another user keeps exactly the ambient set; root keeps what it has. An ambient
    // capability must be permitted and inheritable before it can be raised.
    if (change_ids) {
      set_mask(&__user_cap_data_struct::effective, data, plan.ambient);
      set_mask(&__user_cap_data_struct::permitted, data, plan.ambient);
    }
    set_mask(&__user_cap_data_struct::inheritable, data, plan.ambient);
    if (set_caps(data) < 0) return failed(ExecStage::sandbox_capabilities, plan.ambient_label);
    if (change_ids && ::prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0) {
      return failed(ExecStage::sandbox_capabilities, plan.ambient_label);
    }
    size_t next = 0;
    for (int cap = 0; cap < 64; ++cap) {
      if (!(plan.ambient & (uint64_t{1} << cap))) continue;
      int label = next < plan.ambient_labels.size() ? plan.ambient_labels[next] : plan.ambient_label;
      ++next;
      if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) < 0) {
        return failed(ExecStage::sandbox_capabilities, label);
      }
    }
  }
  bool no_new_privs = plan.no_new_privileges;
  if (!no_new_privs && plan.no_new_privileges_unless_sys_admin) {
    __user_cap_data_struct data[2] = {};
    if (get_caps(data) < 0) return failed(ExecStage::sandbox_no_new_privileges, plan.no_new_privileges_label);
    no_new_privs = !(data[CAP_TO_INDEX(CAP_SYS_ADMIN)].effective & CAP_TO_MASK(CAP_SYS_ADMIN));
  }
  if (no_new_privs && ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
    return failed(ExecStage::sandbox_no_new_privileges, plan.no_new_privileges_label);
  }
  return kOk;
}

ExecReport sandbox_seccomp(const SandboxPlan& plan) {
  for (const auto& program : plan.seccomp) {
    sock_fprog prog{};
    prog.len = static_cast<unsigned short>(program.code.size());
    prog.filter = const_cast<sock_filter*>(program.code.data());
    if (::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0) {
      return failed(ExecStage::sandbox_seccomp, program.label);
    }
  }
  return kOk;
}

}  // namespace superd
