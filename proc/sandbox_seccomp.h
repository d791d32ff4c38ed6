// The seccomp half of a sandbox, compiled before fork: libseccomp builds each filter and
// exports it as BPF into a memfd, which is read back into memory the child can hand to
// seccomp(2) without allocating. One filter per feature, as systemd loads them: each
// starts from "allow" (or, for an allow list, from "refuse") and refuses only what its
// directive is about, so their effects add up and none widens another.
//
// The filters are built for the native architecture only: a call made through another
// ABI (int 0x80 on x86-64, say) kills the process, so no directive can be sidestepped
// that way (systemd's SystemCallArchitectures=native).
#pragma once

#include <linux/filter.h>

#include <string>
#include <vector>

#include "proc/sandbox_spec.h"

namespace superd {

struct CompiledFilter {
  std::string what;  // "system_call_filter", "restrict_address_families", ...
  std::vector<sock_filter> code;
};

// The filters of `spec` in load order (the operator's system_call_filter last). False,
// with *error set, when libseccomp refuses one.
bool compile_seccomp(const SandboxSpec& spec, std::vector<CompiledFilter>& out,
                     std::string* error);

}  // namespace superd
