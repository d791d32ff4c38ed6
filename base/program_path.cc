#include "base/program_path.h"

#include <sys/stat.h>
#include <unistd.h>

namespace superd {

bool is_executable_file(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(path.c_str(), X_OK) == 0;
}

std::optional<std::string> find_in_path(const std::string& name, std::string_view path_var) {
  while (true) {
    const size_t colon = path_var.find(':');
    const std::string_view dir = path_var.substr(0, colon);
    if (!dir.empty()) {
      std::string candidate = std::string(dir) + "/" + name;
      if (is_executable_file(candidate)) return candidate;
    }
    if (colon == std::string_view::npos) return std::nullopt;
    path_var.remove_prefix(colon + 1);
  }
}

}  // namespace superd
