// Reading a `sandbox` table ([service.NAME.sandbox] or [defaults.sandbox]) into the
// model of config_sandbox.h: every key typed and checked, names resolved the way systemd
// resolves them (capabilities by libcap, system calls by libseccomp, systemd's syscall
// groups, AF_* families, errno names). Self-contained, so the config loader calls it
// once per table and collects what it reports as FILE:LINE:COL: message.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <toml++/toml.h>

#include "supervisor/config_sandbox.h"

namespace superd {

// Where a problem is and what it is.
using SandboxErrorSink = std::function<void(const toml::source_position& where, std::string message)>;

// The keys of `node` (which must be a table) onto `sandbox`: a key given replaces the
// value already there (from [defaults.sandbox]), a key not given leaves it, as every
// other default works. `where` names the table in messages ("[service.redis.sandbox]").
// Every problem goes to `error` and reading goes on; a refused value leaves the field
// as it was. Never throws.
void load_sandbox(const toml::node& node, std::string_view where, SandboxConfig& sandbox,
                  const SandboxErrorSink& error);

// The keys load_sandbox() knows, in SPEC's order.
extern const std::string_view kSandboxKeys[];
extern const size_t kSandboxKeyCount;

}  // namespace superd
