// env_file: KEY=VALUE lines, # comments, blank lines; optional `export ` prefix and
// single or double quotes around the value, as systemd's EnvironmentFile= reads them.
#pragma once

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

}  // namespace superd
