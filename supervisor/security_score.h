// `superctl security`: a service's exposure on systemd-analyze security's 0.0-10.0 scale,
// computed from its config with systemd's own table of checks, weights and ranges
// (systemd 252, src/analyze/analyze-security.c) and its arithmetic:
//   exposure = ceil(100 * sum(ceil(badness * weight / range)) / sum(weight)) tenths,
// labelled DANGEROUS (>= 10.0), UNSAFE (>= 9.0), EXPOSED (>= 7.5), MEDIUM (>= 5.0),
// OK (>= 1.0), SAFE (>= 0.1), PERFECT.
//
// Each check reads what superd does for the service: the `sandbox` table, `user`,
// `umask`, and for what superd has no key for, superd's fixed behaviour (no network,
// user or IPC namespace, /proc as it is, the kernel keyring inherited, no device cgroup
// ACL, no IP filter, no root directory). Where a directive implies another in systemd
// (private_devices closes the device policy, protect_clock and the like drop
// capabilities), the implication is scored as systemd scores it; superd enforces the
// same drops (sandbox_spec_of.cc). A mount namespace (any path key) is scored as
// PrivateMounts=yes, any seccomp filter as SystemCallArchitectures=native: both are what
// superd then does. As systemd, only the explicit system_call_filter counts for the
// SystemCallFilter= checks, and only the explicit no_new_privileges for NoNewPrivileges=.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "supervisor/config.h"

namespace superd {

struct SecurityCheck {
  std::string id;           // systemd's name: "PrivateTmp=", "CapabilityBoundingSet=~CAP_SYS_ADMIN"
  std::string description;  // systemd's text for the outcome
  uint64_t weight = 0;
  uint64_t range = 1;
  bool applies = true;      // false: "option does not matter" (badness n/a)
  uint64_t badness = 0;     // 0 .. range
  std::string key;          // the superd key that would lower it; empty: superd has none
  uint64_t exposure_tenths(uint64_t weight_sum) const;  // this check's share, as systemd shows it
};

struct SecurityReport {
  std::string service;
  uint64_t exposure_tenths = 0;  // 0 .. 100
  std::string label;             // "UNSAFE", ...
  std::vector<SecurityCheck> checks;  // in systemd's table order
  uint64_t weight_sum = 0;
};

struct SecurityHost {
  bool superd_is_root = true;         // a service without `user` runs as superd's user
  bool user_has_supplementary = false;  // initgroups() gives the user more groups than its own
};

SecurityReport assess_security(const ServiceConfig& service, const SecurityHost& host);
std::string exposure_label(uint64_t exposure_tenths);
std::string format_tenths(uint64_t tenths);  // 96 -> "9.6"

}  // namespace superd
