#include "supervisor/sandbox_spec_of.h"

#include <linux/capability.h>
#include <sched.h>

#include <algorithm>
#include <cerrno>
#include <map>
#include <set>
#include <string_view>

#include "supervisor/sandbox_names.h"
#include "supervisor/syscall_groups.h"

namespace superd {
namespace {

using Mode = SandboxSpec::PathMode;

struct Rule {
  std::string_view path;  // "-" prefix: ignore it when missing
  Mode mode;
  std::string_view tmpfs_mode = "0755";
};

// systemd 252, src/core/namespace.c.
constexpr Rule kProtectSystemYes[] = {
    {"/usr", Mode::read_only}, {"-/boot", Mode::read_only}, {"-/efi", Mode::read_only}};
constexpr Rule kProtectSystemFull[] = {{"/usr", Mode::read_only},
                                       {"-/boot", Mode::read_only},
                                       {"-/efi", Mode::read_only},
                                       {"/etc", Mode::read_only}};
// Everything read-only but the API file systems (left to private_devices and the
// protect_kernel_* keys) and the homes (left to protect_home).
constexpr Rule kProtectSystemStrict[] = {
    {"/", Mode::read_only},
    {"/proc", Mode::read_write_implicit},
    {"/sys", Mode::read_write_implicit},
    {"/dev", Mode::read_write_implicit},
    {"-/home", Mode::read_write_implicit},
    {"-/run/user", Mode::read_write_implicit},
    {"-/root", Mode::read_write_implicit},
};
constexpr Rule kProtectHomeYes[] = {
    {"-/home", Mode::inaccessible}, {"-/run/user", Mode::inaccessible}, {"-/root", Mode::inaccessible}};
constexpr Rule kProtectHomeReadOnly[] = {
    {"-/home", Mode::read_only}, {"-/run/user", Mode::read_only}, {"-/root", Mode::read_only}};
constexpr Rule kProtectHomeTmpfs[] = {{"-/home", Mode::tmpfs_read_only, "0755"},
                                      {"-/run/user", Mode::tmpfs_read_only, "0755"},
                                      {"-/root", Mode::tmpfs_read_only, "0700"}};
constexpr Rule kProtectKernelTunables[] = {
    {"-/proc/acpi", Mode::read_only},
    {"-/proc/apm", Mode::read_only},
    {"-/proc/asound", Mode::read_only},
    {"-/proc/bus", Mode::read_only},
    {"-/proc/fs", Mode::read_only},
    {"-/proc/irq", Mode::read_only},
    {"-/proc/kallsyms", Mode::inaccessible},
    {"-/proc/kcore", Mode::inaccessible},
    {"-/proc/latency_stats", Mode::read_only},
    {"-/proc/mtrr", Mode::read_only},
    {"-/proc/scsi", Mode::read_only},
    {"-/proc/sys", Mode::read_only},
    {"-/proc/sysrq-trigger", Mode::read_only},
    {"-/proc/timer_stats", Mode::read_only},
    {"/sys", Mode::read_only},
    {"-/sys/fs/bpf", Mode::read_only},
    {"/sys/fs/cgroup", Mode::read_write_implicit},  // protect_control_groups decides
    {"-/sys/fs/selinux", Mode::read_write_implicit},
    {"-/sys/kernel/debug", Mode::read_only},
    {"-/sys/kernel/tracing", Mode::read_only},
};
constexpr Rule kProtectKernelModules[] = {{"-/lib/modules", Mode::inaccessible},
                                          {"-/usr/lib/modules", Mode::inaccessible}};
constexpr Rule kProtectKernelLogs[] = {{"-/proc/kmsg", Mode::inaccessible}, {"-/dev/kmsg", Mode::inaccessible}};
constexpr Rule kProtectControlGroups[] = {{"/sys/fs/cgroup", Mode::read_only}};
constexpr Rule kPrivateTmp[] = {{"/tmp", Mode::private_tmp}, {"/var/tmp", Mode::private_tmp}};
constexpr Rule kPrivateDevices[] = {{"/dev", Mode::private_dev}};

template <size_t N>
void add_rules(SandboxSpec& spec, const Rule (&rules)[N]) {
  for (const auto& r : rules) {
    const bool optional = r.path.front() == '-';
    spec.paths.push_back({std::string(optional ? r.path.substr(1) : r.path), r.mode, optional,
                          std::string(r.tmpfs_mode)});
  }
}

void add_paths(SandboxSpec& spec, const std::vector<std::string>& paths, Mode mode) {
  for (const auto& p : paths) {
    const bool optional = !p.empty() && p.front() == '-';
    spec.paths.push_back({optional ? p.substr(1) : p, mode, optional, "0755"});
  }
}

uint64_t bit(int cap) { return uint64_t{1} << cap; }

uint64_t capability_mask(const std::vector<std::string>& names) {
  uint64_t mask = 0;
  for (const auto& name : names) {
    if (auto cap = capability_from_name(name)) mask |= bit(*cap);
  }
  return mask;
}

std::vector<std::string> expand(std::string_view name) {
  if (!name.empty() && name.front() == '@') {
    const SyscallGroup* group = find_syscall_group(name);
    return group ? syscall_group_members(*group) : std::vector<std::string>{};
  }
  return {std::string(name)};
}

// systemd's merge: the first entry decides allow or deny list; later entries of the same
// kind add, of the other kind take away. An allow list always allows @default.
SandboxSpec::SyscallFilter syscall_filter_of(const std::vector<std::string>& entries) {
  SandboxSpec::SyscallFilter filter;
  filter.allow_list = entries.front().front() != '~';
  std::map<std::string, int> calls;  // name -> errno (deny list)
  if (filter.allow_list) {
    for (auto& name : expand("@default")) calls.emplace(name, 0);
  }
  for (const auto& entry : entries) {
    std::string_view e = entry;
    const bool deny = e.front() == '~';
    if (deny) e.remove_prefix(1);
    size_t colon = e.find(':');
    int error = EPERM;
    if (colon != std::string_view::npos) {
      std::string_view text = e.substr(colon + 1);
      error = text == "kill" ? SandboxSpec::kKill : errno_from_name(text).value_or(EPERM);
    }
    const bool add = deny != filter.allow_list;
    for (auto& name : expand(e.substr(0, colon))) {
      if (add) {
        calls[name] = error;
      } else {
        calls.erase(name);
      }
    }
  }
  for (auto& [name, error] : calls) filter.syscalls.push_back({name, filter.allow_list ? EPERM : error});
  return filter;
}

SandboxSpec::AddressFamilies address_families_of(const std::vector<std::string>& entries) {
  SandboxSpec::AddressFamilies out;
  out.allow_list = entries.empty() || entries.front().front() != '~';
  std::set<int> families;
  for (const auto& entry : entries) {
    std::string_view e = entry;
    const bool deny = e.front() == '~';
    if (deny) e.remove_prefix(1);
    auto af = address_family_from_name(e);
    if (!af) continue;
    if (deny != out.allow_list) {
      families.insert(*af);
    } else {
      families.erase(*af);
    }
  }
  out.families.assign(families.begin(), families.end());
  return out;
}

// The mount namespace: each directive's paths (systemd's tables above).
void add_paths_of(const SandboxConfig& c, SandboxSpec& spec) {
  using PS = SandboxConfig::ProtectSystem;
  using PH = SandboxConfig::ProtectHome;
  add_paths(spec, c.read_write_paths, Mode::read_write);
  add_paths(spec, c.read_only_paths, Mode::read_only);
  add_paths(spec, c.inaccessible_paths, Mode::inaccessible);
  if (c.private_tmp) add_rules(spec, kPrivateTmp);
  if (c.private_devices) add_rules(spec, kPrivateDevices);
  if (c.protect_home == PH::on) add_rules(spec, kProtectHomeYes);
  if (c.protect_home == PH::read_only) add_rules(spec, kProtectHomeReadOnly);
  if (c.protect_home == PH::tmpfs) add_rules(spec, kProtectHomeTmpfs);
  if (c.protect_system == PS::on) add_rules(spec, kProtectSystemYes);
  if (c.protect_system == PS::full) add_rules(spec, kProtectSystemFull);
  if (c.protect_system == PS::strict) add_rules(spec, kProtectSystemStrict);
  if (c.protect_kernel_tunables) add_rules(spec, kProtectKernelTunables);
  if (c.protect_kernel_modules) add_rules(spec, kProtectKernelModules);
  if (c.protect_kernel_logs) add_rules(spec, kProtectKernelLogs);
  if (c.protect_control_groups) add_rules(spec, kProtectControlGroups);
  spec.mount_namespace = !spec.paths.empty();
  spec.uts_namespace = c.protect_hostname;
}

// The bounding set: the listed capabilities (all without the key), less those the
// protect_* directives take away, as systemd's do; and the ambient set.
void add_capabilities_of(const SandboxConfig& c, SandboxSpec& spec) {
  uint64_t drop = 0;
  if (c.private_devices) drop |= bit(CAP_MKNOD) | bit(CAP_SYS_RAWIO);
  if (c.protect_kernel_modules) drop |= bit(CAP_SYS_MODULE);
  if (c.protect_kernel_logs) drop |= bit(CAP_SYSLOG);
  if (c.protect_clock) drop |= bit(CAP_SYS_TIME) | bit(CAP_WAKE_ALARM);
  if (c.capabilities_set || drop) {
    spec.bounding = (c.capabilities_set ? capability_mask(c.capabilities) : ~uint64_t{0}) & ~drop;
  }
  spec.ambient = capability_mask(c.ambient_capabilities);
}

// The seccomp filters: the syscalls the protect_* directives refuse, the operator's own
// list, and the directives that are filters of their own.
void add_filters_of(const SandboxConfig& c, SandboxSpec& spec) {
  auto deny = [&spec](std::string_view name_or_group) {
    for (auto& name : expand(name_or_group)) spec.deny_syscalls.push_back(name);
  };
  if (c.private_devices) deny("@raw-io");
  if (c.protect_kernel_tunables) deny("_sysctl");
  if (c.protect_kernel_modules) deny("@module");
  if (c.protect_kernel_logs) deny("syslog");
  if (c.protect_clock) deny("@clock");
  if (c.protect_hostname) {
    deny("sethostname");
    deny("setdomainname");
  }
  std::sort(spec.deny_syscalls.begin(), spec.deny_syscalls.end());
  spec.deny_syscalls.erase(std::unique(spec.deny_syscalls.begin(), spec.deny_syscalls.end()),
                           spec.deny_syscalls.end());

  if (!c.system_call_filter.empty()) spec.syscall_filter = syscall_filter_of(c.system_call_filter);
  if (c.restrict_address_families_set) spec.address_families = address_families_of(c.restrict_address_families);
  spec.memory_deny_write_execute = c.memory_deny_write_execute;
  spec.lock_personality = c.lock_personality;
  spec.restrict_realtime = c.restrict_realtime;
  spec.restrict_suid_sgid = c.restrict_suid_sgid;
  if (c.restrict_namespaces) spec.allowed_namespaces = 0;
}

}  // namespace

SandboxSpec sandbox_spec_of(const SandboxConfig& c) {
  SandboxSpec spec;
  add_paths_of(c, spec);
  add_capabilities_of(c, spec);
  add_filters_of(c, spec);
  // Without CAP_SYS_ADMIN, these imply no_new_privileges in systemd (seccomp needs it).
  spec.no_new_privileges = c.no_new_privileges;
  spec.no_new_privileges_unless_sys_admin =
      c.private_devices || c.protect_kernel_tunables || c.protect_kernel_modules || c.protect_kernel_logs ||
      c.protect_clock || c.protect_hostname || spec.has_seccomp();
  return spec;
}

}  // namespace superd
