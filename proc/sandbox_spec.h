// A process's sandbox in the kernel's terms: which paths a new mount namespace makes
// read-only, read-write, inaccessible or fresh; which capabilities survive; which seccomp
// filters are loaded. proc/ knows nothing of systemd's directive names: the daemon
// translates a service's `sandbox` table into this (supervisor/sandbox_spec_of.cc), and
// plan_sandbox() (sandbox_plan.h) turns it into steps the child only has to execute.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace superd {

struct SandboxSpec {
  // ---- The mount namespace. A rule for a path and everything below it; rules are
  // applied parents first, and for one path the mode listed first here wins (as
  // systemd's namespace.c orders them).
  enum class PathMode {
    inaccessible,         // an empty node of mode 0000, read-only, in its place
    private_tmp,          // a fresh tmpfs (mode 1777), private to this process tree
    private_dev,          // a fresh tmpfs with only the API devices, read-only
    read_only,            // bound onto itself, then read-only with all its submounts
    read_write,           // writable again below a read-only parent
    tmpfs_read_only,      // an empty read-only tmpfs (ProtectHome=tmpfs)
    read_write_implicit,  // writable unless another rule says otherwise
  };
  struct PathRule {
    std::string path;     // absolute
    PathMode mode = PathMode::read_only;
    bool ignore_missing = false;  // systemd's "-" prefix: skip it if it does not exist
    std::string tmpfs_mode = "0755";  // tmpfs_read_only only
  };
  std::vector<PathRule> paths;
  bool mount_namespace = false;  // also without rules (a new namespace alone)
  bool uts_namespace = false;    // ProtectHostname=
  // The empty nodes `inaccessible` binds over a path, created on first use.
  std::string inaccessible_dir = "/run/super/inaccessible";

  // ---- Capabilities, as bit masks of CAP_* numbers.
  std::optional<uint64_t> bounding;  // kept in the bounding set; nullopt: unchanged
  uint64_t ambient = 0;              // raised in the ambient set (and kept through setuid)

  // ---- no_new_privs: always, or only when the process ends up without CAP_SYS_ADMIN
  // (seccomp needs one of the two; systemd implies it the same way).
  bool no_new_privileges = false;
  bool no_new_privileges_unless_sys_admin = false;

  // ---- seccomp. Every errno below is returned by the refused call.
  static constexpr int kKill = -1;  // kill the process instead (SIGSYS)
  struct Syscall {
    std::string name;  // as libseccomp names it; names unknown on this architecture are skipped
    int error = 1;     // EPERM, or kKill; deny lists only
  };
  struct SyscallFilter {
    bool allow_list = false;  // true: only `syscalls` pass, the rest get default_error
    std::vector<Syscall> syscalls;
    int default_error = 1;    // EPERM
  };
  std::optional<SyscallFilter> syscall_filter;  // the operator's list, loaded last
  std::vector<std::string> deny_syscalls;       // refused with EPERM (clock, modules, ...)
  struct AddressFamilies {
    bool allow_list = true;
    std::vector<int> families;  // AF_* numbers
  };
  std::optional<AddressFamilies> address_families;  // socket(2) refused with EAFNOSUPPORT
  bool memory_deny_write_execute = false;
  bool lock_personality = false;
  bool restrict_realtime = false;
  bool restrict_suid_sgid = false;
  std::optional<uint64_t> allowed_namespaces;  // CLONE_NEW* flags still allowed

  bool empty() const {
    return paths.empty() && !mount_namespace && !uts_namespace && !bounding && ambient == 0 &&
           !no_new_privileges && !no_new_privileges_unless_sys_admin && !has_seccomp();
  }
  bool has_seccomp() const {
    return syscall_filter || !deny_syscalls.empty() || address_families ||
           memory_deny_write_execute || lock_personality || restrict_realtime ||
           restrict_suid_sgid || allowed_namespaces;
  }
};

}  // namespace superd
