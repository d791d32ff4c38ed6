// env_file: KEY=VALUE lines, # comments, blank lines; optional `export ` prefix and
// single or double quotes around the value, as systemd's EnvironmentFile= reads them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/safe_path.h"

namespace superd {

struct EnvFileError {
  int line;
  std::string message;
};

struct EnvFileResult {
  std::vector<std::pair<std::string, std::string>> vars;  // in file order
  std::vector<EnvFileError> errors;
};

EnvFileResult parse_env_file(std::string_view text);

// The variables superd sets for a process itself (socket activation, the notify socket,
// the invocation): never taken from `environment` (a config error) or an env_file
// (dropped with a warning). A service that could name its own LISTEN_PID or
// NOTIFY_SOCKET would be told to use sockets that are not the ones superd holds.
inline constexpr std::string_view kReservedEnvNames[] = {"LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES",
                                                         "NOTIFY_SOCKET", "INVOCATION_ID"};
bool is_reserved_env_name(std::string_view name);

// The most an env_file may hold (execve refuses a larger environment anyway).
inline constexpr uint64_t kMaxEnvFileBytes = 1u << 20;

// Reads `path` as safe_path.h opens a file for root (its directories checked, never a
// symlink, a FIFO, a device, a hard link or a huge file; `trust` names who besides root
// may own it: the service's user) and parses it. nullopt with *error on the first
// problem: "env_file '/srv/.env' does not exist", "/srv/.env:3: expected KEY=VALUE".
std::optional<std::vector<std::pair<std::string, std::string>>> read_env_file(
    const std::string& path, const PathTrust& trust, std::string* error);

// Why an env_file path is refused, in the words of read_env_file's errors.
std::string env_file_problem(const std::string& path, const PathProblem& problem);

}  // namespace superd
