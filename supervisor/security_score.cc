#include "supervisor/security_score.h"

#include <linux/capability.h>
#include <seccomp.h>
#include <sys/socket.h>

#include <algorithm>
#include <set>

#include "supervisor/sandbox_spec_of.h"
#include "supervisor/syscall_groups.h"

namespace superd {
namespace {

uint64_t div_up(uint64_t a, uint64_t b) { return (a + b - 1) / b; }
uint64_t cap(int c) { return uint64_t{1} << c; }

class Assessor {
 public:
  Assessor(const ServiceConfig& s, const SecurityHost& host)
      : s_(s), sb_(s.sandbox), spec_(sandbox_spec_of(s.sandbox)), host_(host) {
    const std::string& u = s.user;
    root_ = u == "root" || u == "0" || (u.empty() && host.superd_is_root);
  }
  std::vector<SecurityCheck> run() {
    identity();
    file_system();
    capabilities();
    process();
    namespaces_and_sockets();
    system_calls();
    rest();
    return std::move(out_);
  }

 private:
  // A check with a yes/no outcome: bad when `bad`.
  void flag(std::string id, uint64_t weight, bool bad, std::string good_text, std::string bad_text,
            std::string key) {
    out_.push_back({std::move(id), bad ? std::move(bad_text) : std::move(good_text), weight, 1, true,
                    bad ? 1u : 0u, std::move(key)});
  }
  void graded(std::string id, uint64_t weight, uint64_t range, uint64_t badness, std::string text,
              std::string key) {
    out_.push_back({std::move(id), std::move(text), weight, range, true, badness, std::move(key)});
  }
  void not_applicable(std::string id, uint64_t weight, std::string text) {
    out_.push_back({std::move(id), std::move(text), weight, 1, false, 0, ""});
  }

  void identity();
  void file_system();
  void capabilities();
  void process();
  void namespaces_and_sockets();
  void system_calls();
  void rest();

  const ServiceConfig& s_;
  const SandboxConfig& sb_;
  SandboxSpec spec_;
  SecurityHost host_;
  bool root_ = true;
  std::vector<SecurityCheck> out_;
};

void Assessor::identity() {
  if (s_.user == "nobody") {
    graded("User=/DynamicUser=", 2000, 10, 9, "Service runs under as 'nobody' user, which should not be used for services",
           "user");
  } else if (!root_) {
    graded("User=/DynamicUser=", 2000, 10, 0, "Service runs under a static non-root user identity", "user");
  } else {
    graded("User=/DynamicUser=", 2000, 10, 10, "Service runs as root user", "user");
  }
  if (root_) {
    not_applicable("SupplementaryGroups=", 200, "Service runs as root, option does not matter");
  } else {
    flag("SupplementaryGroups=", 200, host_.user_has_supplementary, "Service has no supplementary groups",
         "Service runs with supplementary groups", "");
  }
  flag("PrivateDevices=", 1000, !sb_.private_devices, "Service has no access to hardware devices",
       "Service potentially has access to hardware devices", "sandbox.private_devices");
  flag("PrivateMounts=", 1000, !spec_.mount_namespace, "Service cannot install system mounts",
       "Service may install system mounts", "sandbox.protect_system");
  flag("PrivateNetwork=", 2500, true, "", "Service has access to the host's network", "");
  flag("PrivateTmp=", 1000, !sb_.private_tmp, "Service has no access to other software's temporary files",
       "Service has access to other software's temporary files", "sandbox.private_tmp");
  flag("PrivateUsers=", 1000, true, "", "Service has access to other users", "");
}

void Assessor::file_system() {
  using PS = SandboxConfig::ProtectSystem;
  using PH = SandboxConfig::ProtectHome;
  flag("ProtectControlGroups=", 1000, !sb_.protect_control_groups, "Service cannot modify the control group file system",
       "Service may modify the control group file system", "sandbox.protect_control_groups");
  flag("ProtectKernelModules=", 1000, !sb_.protect_kernel_modules, "Service cannot load or read kernel modules",
       "Service may load or read kernel modules", "sandbox.protect_kernel_modules");
  flag("ProtectKernelTunables=", 1000, !sb_.protect_kernel_tunables, "Service cannot alter kernel tunables (/proc/sys, …)",
       "Service may alter kernel tunables", "sandbox.protect_kernel_tunables");
  flag("ProtectKernelLogs=", 1000, !sb_.protect_kernel_logs, "Service cannot read from or write to the kernel log ring buffer",
       "Service may read from or write to the kernel log ring buffer", "sandbox.protect_kernel_logs");
  flag("ProtectClock=", 1000, !sb_.protect_clock, "Service cannot write to the hardware clock or system clock",
       "Service may write to the hardware clock or system clock", "sandbox.protect_clock");
  switch (sb_.protect_home) {
    case PH::on: graded("ProtectHome=", 1000, 10, 0, "Service has no access to home directories", ""); break;
    case PH::read_only:
      graded("ProtectHome=", 1000, 10, 5, "Service has read-only access to home directories", "sandbox.protect_home");
      break;
    case PH::tmpfs:
      graded("ProtectHome=", 1000, 10, 1, "Service has access to fake empty home directories", "sandbox.protect_home");
      break;
    case PH::off:
      graded("ProtectHome=", 1000, 10, 10, "Service has full access to home directories", "sandbox.protect_home");
  }
  flag("ProtectHostname=", 50, !sb_.protect_hostname, "Service cannot change system host/domainname",
       "Service may change system host/domainname", "sandbox.protect_hostname");
  switch (sb_.protect_system) {
    case PS::strict:
      graded("ProtectSystem=", 1000, 10, 0, "Service has strict read-only access to the OS file hierarchy", "");
      break;
    case PS::full:
      graded("ProtectSystem=", 1000, 10, 3, "Service has very limited write access to the OS file hierarchy",
             "sandbox.protect_system");
      break;
    case PS::on:
      graded("ProtectSystem=", 1000, 10, 5, "Service has limited write access to the OS file hierarchy",
             "sandbox.protect_system");
      break;
    case PS::off:
      graded("ProtectSystem=", 1000, 10, 10, "Service has full access to the OS file hierarchy", "sandbox.protect_system");
  }
  flag("RootDirectory=/RootImage=", 200, true, "", "Service runs within the host's root directory", "");
  flag("LockPersonality=", 100, !sb_.lock_personality, "Service cannot change ABI personality",
       "Service may change ABI personality", "sandbox.lock_personality");
  flag("MemoryDenyWriteExecute=", 100, !sb_.memory_deny_write_execute,
       "Service cannot create writable executable memory mappings",
       "Service may create writable executable memory mappings", "sandbox.memory_deny_write_execute");
  flag("NoNewPrivileges=", 1000, !sb_.no_new_privileges, "Service processes cannot acquire new privileges",
       "Service processes may acquire new privileges", "sandbox.no_new_privileges");
}

struct CapCheck {
  const char* id;
  uint64_t weight;
  uint64_t mask;
  const char* good;
  const char* bad;
};

// systemd's capability checks, in its order.
const CapCheck kCaps[] = {
    {"CAP_SYS_ADMIN", 1500, cap(CAP_SYS_ADMIN), "Service has no administrator privileges", "Service has administrator privileges"},
    {"CAP_SET(UID|GID|PCAP)", 1500, cap(CAP_SETUID) | cap(CAP_SETGID) | cap(CAP_SETPCAP),
     "Service cannot change UID/GID identities/capabilities", "Service may change UID/GID identities/capabilities"},
    {"CAP_SYS_PTRACE", 1500, cap(CAP_SYS_PTRACE), "Service has no ptrace() debugging abilities", "Service has ptrace() debugging abilities"},
    {"CAP_SYS_TIME", 1000, cap(CAP_SYS_TIME), "Service processes cannot change the system clock", "Service processes may change the system clock"},
    {"CAP_NET_ADMIN", 1000, cap(CAP_NET_ADMIN), "Service has no network configuration privileges", "Service has network configuration privileges"},
    {"CAP_SYS_RAWIO", 1000, cap(CAP_SYS_RAWIO), "Service has no raw I/O access", "Service has raw I/O access"},
    {"CAP_SYS_MODULE", 1000, cap(CAP_SYS_MODULE), "Service cannot load kernel modules", "Service may load kernel modules"},
    {"CAP_AUDIT_*", 500, cap(CAP_AUDIT_CONTROL) | cap(CAP_AUDIT_READ) | cap(CAP_AUDIT_WRITE),
     "Service has no audit subsystem access", "Service has audit subsystem access"},
    {"CAP_SYSLOG", 500, cap(CAP_SYSLOG), "Service has no access to kernel logging", "Service has access to kernel logging"},
    {"CAP_SYS_(NICE|RESOURCE)", 500, cap(CAP_SYS_NICE) | cap(CAP_SYS_RESOURCE),
     "Service has no privileges to change resource use parameters", "Service has privileges to change resource use parameters"},
    {"CAP_MKNOD", 500, cap(CAP_MKNOD), "Service cannot create device nodes", "Service may create device nodes"},
    {"CAP_(CHOWN|FSETID|SETFCAP)", 1000, cap(CAP_CHOWN) | cap(CAP_FSETID) | cap(CAP_SETFCAP),
     "Service cannot change file ownership/access mode/capabilities",
     "Service may change file ownership/access mode/capabilities unrestricted"},
    {"CAP_(DAC_*|FOWNER|IPC_OWNER)", 1000,
     cap(CAP_DAC_OVERRIDE) | cap(CAP_DAC_READ_SEARCH) | cap(CAP_FOWNER) | cap(CAP_IPC_OWNER),
     "Service cannot override UNIX file/IPC permission checks", "Service may override UNIX file/IPC permission checks"},
    {"CAP_KILL", 500, cap(CAP_KILL), "Service cannot send UNIX signals to arbitrary processes", "Service may send UNIX signals to arbitrary processes"},
    {"CAP_NET_(BIND_SERVICE|BROADCAST|RAW)", 500, cap(CAP_NET_BIND_SERVICE) | cap(CAP_NET_BROADCAST) | cap(CAP_NET_RAW),
     "Service has no elevated networking privileges", "Service has elevated networking privileges"},
    {"CAP_SYS_BOOT", 100, cap(CAP_SYS_BOOT), "Service cannot issue reboot()", "Service may issue reboot()"},
    {"CAP_MAC_*", 100, cap(CAP_MAC_ADMIN) | cap(CAP_MAC_OVERRIDE), "Service cannot adjust SMACK MAC", "Service may adjust SMACK MAC"},
    {"CAP_LINUX_IMMUTABLE", 75, cap(CAP_LINUX_IMMUTABLE), "Service cannot mark files immutable", "Service may mark files immutable"},
    {"CAP_IPC_LOCK", 50, cap(CAP_IPC_LOCK), "Service cannot lock memory into RAM", "Service may lock memory into RAM"},
    {"CAP_SYS_CHROOT", 50, cap(CAP_SYS_CHROOT), "Service cannot issue chroot()", "Service may issue chroot()"},
    {"CAP_BLOCK_SUSPEND", 25, cap(CAP_BLOCK_SUSPEND), "Service cannot establish wake locks", "Service may establish wake locks"},
    {"CAP_WAKE_ALARM", 25, cap(CAP_WAKE_ALARM), "Service cannot program timers that wake up the system", "Service may program timers that wake up the system"},
    {"CAP_LEASE", 25, cap(CAP_LEASE), "Service cannot create file leases", "Service may create file leases"},
    {"CAP_SYS_TTY_CONFIG", 25, cap(CAP_SYS_TTY_CONFIG), "Service cannot issue vhangup()", "Service may issue vhangup()"},
    {"CAP_SYS_PACCT", 25, cap(CAP_SYS_PACCT), "Service cannot use acct()", "Service may use acct()"},
    {"CAP_BPF", 25, cap(39 /* CAP_BPF */), "Service may not load BPF programs", "Service may load BPF programs"},
};

void Assessor::capabilities() {
  const uint64_t bounding = spec_.bounding.value_or(~uint64_t{0});
  for (const CapCheck& c : kCaps) {
    flag(std::string("CapabilityBoundingSet=~") + c.id, c.weight, (bounding & c.mask) != 0, c.good, c.bad,
         "sandbox.capabilities");
  }
  flag("AmbientCapabilities=", 500, spec_.ambient != 0, "Service process does not receive ambient capabilities",
       "Service process receives ambient capabilities", "sandbox.ambient_capabilities");
}

void Assessor::process() {
  const mode_t m = s_.umask;
  if (!(m & 0002)) {
    graded("UMask=", 100, 10, 10, "Files created by service are world-writable by default", "umask");
  } else if (!(m & 0004)) {
    graded("UMask=", 100, 10, 5, "Files created by service are world-readable by default", "umask");
  } else if (!(m & 0020)) {
    graded("UMask=", 100, 10, 2, "Files created by service are group-writable by default", "umask");
  } else if (!(m & 0040)) {
    graded("UMask=", 100, 10, 1, "Files created by service are group-readable by default", "umask");
  } else {
    graded("UMask=", 100, 10, 0, "Files created by service are accessible only by service's own user by default", "");
  }
  // superd's services inherit superd's session keyring: they share it.
  flag("KeyringMode=", 1000, true, "", "Service shares key material with other service", "");
  graded("ProtectProc=", 1000, 3, 3, "Service has full access to process tree (/proc hidepid=)", "");
  flag("ProcSubset=", 10, true, "", "Service has full access to non-process /proc files (/proc subset=)", "");
  // superd takes READY=1 and the rest from the main process only.
  flag("NotifyAccess=", 1000, false, "Service child processes cannot alter service state", "", "");
  if (root_) {
    not_applicable("RemoveIPC=", 100, "Service runs as root, option does not apply");
  } else {
    flag("RemoveIPC=", 100, true, "", "Service user may leave SysV IPC objects around", "");
  }
  flag("Delegate=", 100, false, "Service does not maintain its own delegated control group subtree", "", "");
  flag("RestrictRealtime=", 500, !sb_.restrict_realtime, "Service realtime scheduling access is restricted",
       "Service may acquire realtime scheduling", "sandbox.restrict_realtime");
  flag("RestrictSUIDSGID=", 1000, !sb_.restrict_suid_sgid, "SUID/SGID file creation by service is restricted",
       "Service may create SUID/SGID files", "sandbox.restrict_suid_sgid");
}

void Assessor::namespaces_and_sockets() {
  static const std::pair<const char*, uint64_t> kNamespaces[] = {
      {"user", 1500}, {"mnt", 500}, {"ipc", 500}, {"pid", 500}, {"cgroup", 500}, {"net", 500}, {"uts", 100}};
  static const char* kWhat[] = {"user", "file system", "IPC", "process", "cgroup", "network", "hostname"};
  for (size_t i = 0; i < std::size(kNamespaces); ++i) {
    std::string what = kWhat[i];
    flag(std::string("RestrictNamespaces=~") + kNamespaces[i].first, kNamespaces[i].second, !sb_.restrict_namespaces,
         "Service cannot create " + what + " namespaces", "Service may create " + what + " namespaces",
         "sandbox.restrict_namespaces");
  }
  // systemd's five classes of socket: each allowed unless the list excludes all of it.
  bool inet = true, unix_ = true, netlink = true, packet = true, other = true;
  if (spec_.address_families) {
    const auto& af = *spec_.address_families;
    inet = unix_ = netlink = packet = other = !af.allow_list;
    for (int f : af.families) {
      bool& cls = f == AF_INET || f == AF_INET6 ? inet : f == AF_UNIX ? unix_ : f == AF_NETLINK ? netlink
                  : f == AF_PACKET ? packet : other;
      cls = af.allow_list;
    }
  }
  const char* key = "sandbox.restrict_address_families";
  flag("RestrictAddressFamilies=~AF_(INET|INET6)", 1500, inet, "Service cannot allocate Internet sockets",
       "Service may allocate Internet sockets", key);
  flag("RestrictAddressFamilies=~AF_UNIX", 25, unix_, "Service cannot allocate local sockets",
       "Service may allocate local sockets", key);
  flag("RestrictAddressFamilies=~AF_NETLINK", 200, netlink, "Service cannot allocate netlink sockets",
       "Service may allocate netlink sockets", key);
  flag("RestrictAddressFamilies=~AF_PACKET", 1000, packet, "Service cannot allocate packet sockets",
       "Service may allocate packet sockets", key);
  flag("RestrictAddressFamilies=~…", 1250, other, "Service cannot allocate exotic sockets",
       "Service may allocate exotic sockets", key);
}

// systemd's syscall_names_in_filter: does the filter let through a call of `group` that
// exists on this architecture?
bool lets_through(const SandboxSpec::SyscallFilter& f, const std::set<std::string>& listed, std::string_view group,
                  std::string* offender) {
  const SyscallGroup* g = find_syscall_group(group);
  for (const std::string& name : g ? syscall_group_members(*g) : std::vector<std::string>{}) {
    if (seccomp_syscall_resolve_name(name.c_str()) < 0) continue;
    if (listed.count(name) == f.allow_list) {
      *offender = name;
      return true;
    }
  }
  return false;
}

void Assessor::system_calls() {
  graded("SystemCallArchitectures=", 1000, 10, spec_.has_seccomp() ? 0 : 10,
         spec_.has_seccomp() ? "Service may execute system calls only with native ABI"
                             : "Service may execute system calls with all ABIs",
         spec_.has_seccomp() ? "" : "sandbox.system_call_filter");
  static const std::pair<const char*, uint64_t> kGroups[] = {
      {"@swap", 1000}, {"@obsolete", 250}, {"@clock", 1000}, {"@cpu-emulation", 250}, {"@debug", 1000},
      {"@mount", 1000}, {"@module", 1000}, {"@raw-io", 1000}, {"@reboot", 1000}, {"@privileged", 700},
      {"@resources", 700}};
  std::set<std::string> listed;
  if (spec_.syscall_filter) {
    for (const auto& c : spec_.syscall_filter->syscalls) listed.insert(c.name);
  }
  for (auto [group, weight] : kGroups) {
    std::string id = std::string("SystemCallFilter=~") + group, offender;
    const char* key = "sandbox.system_call_filter";
    if (!spec_.syscall_filter) {
      graded(id, weight, 10, 10, "Service does not filter system calls", key);
      continue;
    }
    const auto& f = *spec_.syscall_filter;
    const bool bad = lets_through(f, listed, group, &offender);
    const std::string kind = f.allow_list ? "allow" : "deny";
    std::string text = "System call " + kind + " list defined for service, and " + group +
                       ((bad == f.allow_list) ? " is included" : " is not included");
    if (bad) text += " (e.g. " + offender + " is allowed)";
    graded(id, weight, 10, bad ? (f.allow_list ? 9 : 10) : 0, text, bad ? key : "");
  }
}

void Assessor::rest() {
  graded("IPAddressDeny=", 1000, 10, 10, "Service does not define an IP address allow list", "");
  if (!sb_.private_devices) {
    graded("DeviceAllow=", 1000, 10, 10, "Service has no device ACL", "sandbox.private_devices");
  } else if (sb_.protect_clock) {  // systemd lets the closed policy read the RTC then
    graded("DeviceAllow=", 1000, 10, 5, "Service has a device ACL with some special devices: char-rtc:r", "");
  } else {
    graded("DeviceAllow=", 1000, 10, 0, "Service has a minimal device ACL", "");
  }
}

}  // namespace

uint64_t SecurityCheck::exposure_tenths(uint64_t weight_sum) const {
  if (!applies || badness == 0 || weight_sum == 0) return 0;
  return div_up(div_up(badness * weight * 100, range), weight_sum);
}

std::string exposure_label(uint64_t e) {
  return e >= 100 ? "DANGEROUS" : e >= 90 ? "UNSAFE" : e >= 75 ? "EXPOSED" : e >= 50 ? "MEDIUM"
         : e >= 10 ? "OK" : e >= 1 ? "SAFE" : "PERFECT";
}

std::string format_tenths(uint64_t t) { return std::to_string(t / 10) + "." + std::to_string(t % 10); }

SecurityReport assess_security(const ServiceConfig& service, const SecurityHost& host) {
  SecurityReport r;
  r.service = service.name;
  r.checks = Assessor(service, host).run();
  uint64_t badness_sum = 0;
  for (const SecurityCheck& c : r.checks) {
    if (!c.applies) continue;
    badness_sum += div_up(c.badness * c.weight, c.range);
    r.weight_sum += c.weight;
  }
  r.exposure_tenths = r.weight_sum ? div_up(badness_sum * 100, r.weight_sum) : 0;
  r.label = exposure_label(r.exposure_tenths);
  return r;
}

}  // namespace superd
