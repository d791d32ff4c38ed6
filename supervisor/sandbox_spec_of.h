// A service's `sandbox` table in the kernel's terms (proc/sandbox_spec.h): what each of
// systemd's directives means, as paths to remount, capabilities to drop and syscalls to
// filter. The tables follow systemd 252's src/core/namespace.c and execute.c, so a
// directive here does what it does in a Debian unit.
#pragma once

#include "proc/sandbox_spec.h"
#include "supervisor/config_sandbox.h"

namespace superd {

SandboxSpec sandbox_spec_of(const SandboxConfig& config);

}  // namespace superd
