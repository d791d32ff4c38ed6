#include "proc/log_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

namespace superd {

UniqueFd open_log_file(const std::string& path, int* error_number) {
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC | O_NOCTTY, 0640));
  if (!fd) *error_number = errno;
  return fd;
}

void shift_log_backups(const std::string& path, int backups) {
  if (backups <= 0) {
    ::unlink(path.c_str());
    return;
  }
  for (int i = backups - 1; i >= 1; --i) {
    ::rename((path + "." + std::to_string(i)).c_str(), (path + "." + std::to_string(i + 1)).c_str());
  }
  ::rename(path.c_str(), (path + ".1").c_str());
}

}  // namespace superd
