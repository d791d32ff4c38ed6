// env_file: KEY=VALUE lines, # comments, blank lines; optional `export ` prefix and
// single or double quotes around the value, as systemd's EnvironmentFile= reads them.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

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

// Reads `path` with read_small_file (never a FIFO, a device or a huge file) and parses
// it. nullopt with *error on the first problem: "env_file PATH does not exist",
// "PATH:3: expected KEY=VALUE".
std::optional<std::vector<std::pair<std::string, std::string>>> read_env_file(
    const std::string& path, std::string* error);

}  // namespace superd
