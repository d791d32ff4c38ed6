// Reading super.toml: TOML syntax (toml++), then every key checked against the model in
// config.h, [defaults] applied, and the system consulted (users, groups, executables,
// directories, host names). Every problem is collected, none stops the pass, so `superd
// --check` shows them all at once, each as FILE:LINE:COL: message.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "supervisor/config.h"

namespace superd {

struct LoadOptions {
  // Look up users and groups, executables and directories. Off for fuzzing and for
  // unit tests of pure syntax and typing.
  bool check_system = true;
  // Resolve the host names of tcp and http checks (getaddrinfo; a name that does not
  // resolve is an error). Off for fuzzing, so random names never reach a DNS server;
  // a name is then kept without an address, and probing it fails.
  bool resolve_hosts = true;
  // reload-config: whether the running service's log sink writes this file, with this
  // trust. Such a file is not checked again (its directory is): the sink checks the path
  // itself each time it opens it, at rotation and reopen-logs, and 5,000 lstat calls were
  // a fifth of a reload of 5,000 services. A sink whose last open failed, or that
  // trusted other directories, is checked.
  std::function<bool(const std::string& service, const std::string& path, const PathTrust& trust)> log_file_open;
  // Hand back what loading built and no longer needs (LoadResult::leftovers) instead of
  // freeing it before returning.
  bool keep_leftovers = false;
};

struct LoadResult {
  std::optional<Config> config;     // set only when errors is empty
  std::vector<ConfigError> errors;  // in file order
  // Accepted but worth saying ("warning: socket_group 'www' is a group service 'app'
  // runs as ..."): --check prints them, superd logs them at start and reload.
  std::vector<ConfigError> warnings;
  // With LoadOptions::keep_leftovers, what loading built and no longer needs (the parsed
  // document, the drafts), for a caller that answers someone first and frees it after
  // (reload-config: at 5,000 services, freeing them is a tenth of the reload). Null
  // otherwise: it is freed before the result is returned.
  std::shared_ptr<void> leftovers;
};

LoadResult load_config_file(const std::string& path, const LoadOptions& options = {});
LoadResult load_config_string(std::string_view text, const std::string& path,
                              const LoadOptions& options = {});

// Every key the loader accepts: the top-level tables ("supervisor", "defaults",
// "service"), "supervisor.KEY", the service keys ("command", ...), "ready.KEY" and
// "health.KEY" (kinds and options), "backoff.KEY" and "limits.NAME". For tests that hold
// the documentation to the loader.
std::vector<std::string> known_config_keys();

}  // namespace superd
