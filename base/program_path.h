// Finding the program a command names, the same way for the config check and the spawn:
// a bare name is looked up in a PATH (the service's, else kDefaultPath), and a hit must
// be an executable regular file. Empty PATH entries are skipped.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace superd {

// The PATH a service gets when its environment has none (SPEC: the clean environment).
inline constexpr std::string_view kDefaultPath = "/usr/local/bin:/usr/bin:/bin";

bool is_executable_file(const std::string& path);
// DIR/name for the first DIR of `path_var` holding an executable `name` (a bare name).
std::optional<std::string> find_in_path(const std::string& name, std::string_view path_var);

}  // namespace superd
