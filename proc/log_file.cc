#include "proc/log_file.h"

#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

namespace superd {

std::variant<UniqueFd, PathProblem> open_log_file(const std::string& path, const PathTrust& trust,
                                                  SafeDir* dir) {
  // The directory is walked again at every open: what was checked last time may have
  // been chmod'ed, chown'ed or replaced since.
  auto [dir_path, name] = split_path(path);
  auto opened = open_safe_dir(dir_path, trust, Missing::create, 0750);
  if (auto* problem = std::get_if<PathProblem>(&opened)) {
    *dir = SafeDir();
    return *problem;
  }
  *dir = std::move(std::get<SafeDir>(opened));
  return open_safe_file(*dir, name, trust, {O_RDWR | O_APPEND | O_CREAT | O_NOCTTY, 0640, 0});
}

void shift_log_backups(const SafeDir& dir, const std::string& name, int backups) {
  // Relative to the directory the file was opened in: renames never follow a symlink,
  // and nobody but root can put one there.
  if (!dir) return;
  const int fd = dir.fd();
  if (backups <= 0) {
    ::unlinkat(fd, name.c_str(), 0);
    return;
  }
  for (int i = backups - 1; i >= 1; --i) {
    ::renameat(fd, (name + "." + std::to_string(i)).c_str(), fd, (name + "." + std::to_string(i + 1)).c_str());
  }
  ::renameat(fd, name.c_str(), fd, (name + ".1").c_str());
}

}  // namespace superd
