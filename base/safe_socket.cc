// The sockets superd binds in a checked directory (safe_path.h): stale ones removed,
// new ones bound under a narrow umask and then chowned and chmod'ed through their inode.
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "base/safe_path.h"
#include "base/safe_path_detail.h"

namespace superd {

using namespace safe_path_detail;

std::variant<bool, PathProblem> remove_stale_socket(const SafeDir& dir, const std::string& name) {
  const std::string path = dir.path_of(name);
  if (!is_component(name)) return PathProblem{path, "is not a socket name"};
  struct stat st {};
  if (::fstatat(dir.fd(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT) return false;
    return PathProblem{path, "cannot be checked: " + errno_text(errno)};
  }
  if (!S_ISSOCK(st.st_mode)) return PathProblem{path, "is " + kind_of(st.st_mode) + " in the way of a socket"};
  if (::unlinkat(dir.fd(), name.c_str(), 0) != 0 && errno != ENOENT) {
    return PathProblem{path, "cannot be removed: " + errno_text(errno)};
  }
  return true;
}

std::optional<PathProblem> chown_safe_socket(const SafeDir& dir, const std::string& name,
                                             uid_t owner, gid_t group, mode_t mode) {
  const std::string path = dir.path_of(name);
  UniqueFd fd(::openat(dir.fd(), name.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
  if (!fd) return PathProblem{path, "cannot be opened: " + errno_text(errno)};
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return PathProblem{path, "cannot be checked: " + errno_text(errno)};
  if (!S_ISSOCK(st.st_mode)) return PathProblem{path, "is " + kind_of(st.st_mode) + ", not the socket superd bound"};
  if (st.st_nlink != 1 || !root_or_self(st.st_uid)) {
    return PathProblem{path, "is not the socket superd bound (owner or links changed)"};
  }
  if (::fchownat(fd.get(), "", owner, group, AT_EMPTY_PATH) != 0) {
    return PathProblem{path, "cannot be chowned: " + errno_text(errno)};
  }
  // chmod(2) of an O_PATH descriptor goes through its /proc link: the inode itself.
  const std::string self = "/proc/self/fd/" + std::to_string(fd.get());
  if (::fchmodat(AT_FDCWD, self.c_str(), mode, 0) != 0) {
    return PathProblem{path, "cannot be chmod'ed: " + errno_text(errno)};
  }
  return std::nullopt;
}

std::optional<PathProblem> bind_safe_socket(const SafeDir& dir, const std::string& name, int fd,
                                            uid_t owner, gid_t group, mode_t mode) {
  const std::string path = dir.path_of(name);
  if (!is_component(name)) return PathProblem{path, "is not a socket name"};
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) {
    return PathProblem{path, "is longer than the " + std::to_string(sizeof addr.sun_path - 1) +
                                 " bytes a Unix socket path can have"};
  }
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  // bind() creates the inode with 0777 & ~umask: under 0177 it never exists wider than
  // 0600, and becomes `mode` only once its owner and group are right.
  const mode_t old_umask = ::umask(0177);
  const int rc = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  const int bind_errno = errno;
  ::umask(old_umask);
  if (rc != 0) return PathProblem{path, "cannot be bound: " + errno_text(bind_errno)};
  return chown_safe_socket(dir, name, owner, group, mode);
}

}  // namespace superd
