// The `sandbox` table of a service (SPEC "Sandbox"): systemd's hardening directives, same
// names in snake_case, same meaning (systemd.exec(5)). Plain data after loading; the
// daemon turns it into proc/'s sandbox plan, superctl security scores it.
#pragma once

#include <string>
#include <vector>

namespace superd {

struct SandboxConfig {
  enum class ProtectSystem { off, on, full, strict };  // false | true | "full" | "strict"
  enum class ProtectHome { off, on, read_only, tmpfs };  // false | true | "read-only" | "tmpfs"

  bool no_new_privileges = false;
  bool private_tmp = false;
  bool private_devices = false;
  ProtectSystem protect_system = ProtectSystem::off;
  ProtectHome protect_home = ProtectHome::off;
  std::vector<std::string> read_write_paths;
  std::vector<std::string> read_only_paths;
  std::vector<std::string> inaccessible_paths;
  // The bounding set: unset means "not restricted" (every capability, as without the
  // key); set to [] means none at all.
  bool capabilities_set = false;
  std::vector<std::string> capabilities;           // "CAP_NET_BIND_SERVICE", ...
  std::vector<std::string> ambient_capabilities;
  bool restrict_address_families_set = false;
  std::vector<std::string> restrict_address_families;  // "AF_INET", or "~AF_PACKET" deny list
  std::vector<std::string> system_call_filter;     // "@system-service", "~@privileged", "read"
  bool memory_deny_write_execute = false;
  bool protect_kernel_tunables = false;
  bool protect_kernel_modules = false;
  bool protect_kernel_logs = false;
  bool protect_control_groups = false;
  bool protect_clock = false;
  bool protect_hostname = false;
  bool restrict_namespaces = false;
  bool restrict_realtime = false;
  bool restrict_suid_sgid = false;
  bool lock_personality = false;

  bool operator==(const SandboxConfig&) const = default;
  // True when no key asks for anything (no namespace, no filter, nothing dropped).
  bool empty() const { return *this == SandboxConfig{}; }
};

}  // namespace superd
