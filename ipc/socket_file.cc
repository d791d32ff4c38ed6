#include "ipc/socket_file.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace superd::ipc {
namespace {

std::string errno_text(int error) { return std::strerror(error); }

bool fill_address(const std::string& path, sockaddr_un& addr) {
  std::memset(&addr, 0, sizeof addr);
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) return false;
  std::memcpy(addr.sun_path, path.data(), path.size());
  return true;
}

std::string socket_dir_problem(const std::string& dir, const PathProblem& problem) {
  return problem.explain("socket directory", dir, "superd's control socket and its lock live there");
}

enum class Probe { absent, stale, live };

// What is at the socket path now: nothing, a socket nobody listens on, or a live one.
std::variant<Probe, std::string> probe(int dir_fd, const std::string& name,
                                       const std::string& path) {
  struct stat st {};
  if (::fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT) return Probe::absent;
    return path + ": cannot stat: " + errno_text(errno);
  }
  if (!S_ISSOCK(st.st_mode)) return path + ": exists and is not a socket; not replacing it";

  sockaddr_un addr;
  fill_address(path, addr);  // the length was checked by the caller
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd) return path + ": socket: " + errno_text(errno);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) return Probe::live;
  switch (errno) {
    case EAGAIN:  // listening, with a full backlog: very much alive
    case EINPROGRESS:
      return Probe::live;
    case ECONNREFUSED:
      return Probe::stale;
    case ENOENT:
      return Probe::absent;
    default:
      return path + ": cannot probe the existing socket: " + errno_text(errno);
  }
}

}  // namespace

std::variant<SocketFile, std::string> SocketFile::create(const std::string& path,
                                                         std::optional<gid_t> group,
                                                         const PathTrust& trust, int backlog) {
  sockaddr_un addr;
  if (!fill_address(path, addr))
    return path + ": socket path too long (at most " +
           std::to_string(sizeof addr.sun_path - 1) + " bytes)";
  SocketFile file;
  file.path_ = path;
  auto [dir, name] = split_path(path);
  if (name.empty() || name == "." || name == "..") return path + ": not a socket file name";
  file.name_ = name;

  auto opened = open_safe_dir(dir, trust, Missing::create, 0755);
  if (auto* problem = std::get_if<PathProblem>(&opened)) return socket_dir_problem(dir, *problem);
  file.dir_ = std::move(std::get<SafeDir>(opened));
  const int dir_fd = file.dir_.fd();

  const std::string lock_name = name + ".lock";
  auto lock = open_safe_file(file.dir_, lock_name, trust, {O_RDWR | O_CREAT, 0600, 0});
  if (auto* problem = std::get_if<PathProblem>(&lock)) return problem->describe(file.dir_.path_of(lock_name));
  file.lock_fd_ = std::move(std::get<UniqueFd>(lock));
  if (::flock(file.lock_fd_.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK) return path + ": another superd is listening";
    return dir + "/" + lock_name + ": flock: " + errno_text(errno);
  }

  auto found = probe(dir_fd, name, path);
  if (auto* error = std::get_if<std::string>(&found)) return *error;
  if (std::get<Probe>(found) == Probe::live) return path + ": another superd is listening";
  if (std::get<Probe>(found) == Probe::stale &&
      ::unlinkat(dir_fd, name.c_str(), 0) != 0 && errno != ENOENT)
    return path + ": cannot remove the stale socket: " + errno_text(errno);

  file.listen_fd_.reset(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!file.listen_fd_) return path + ": socket: " + errno_text(errno);
  const gid_t gid = group.value_or(::getegid());
  if (auto problem = bind_safe_socket(file.dir_, name, file.listen_fd_.get(), ::geteuid(), gid,
                                      group ? 0660 : 0600)) {
    // Bound but not made right: it must not stay behind.
    struct stat st {};
    if (::fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISSOCK(st.st_mode))
      ::unlinkat(dir_fd, name.c_str(), 0);
    return problem->describe(path);
  }
  struct stat st {};
  if (::fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0)
    return path + ": cannot stat the new socket: " + errno_text(errno);
  file.dev_ = st.st_dev;
  file.ino_ = st.st_ino;
  file.bound_ = true;  // from here on, the destructor removes it
  if (::listen(file.listen_fd_.get(), backlog) != 0) return path + ": listen: " + errno_text(errno);
  return file;
}

std::variant<SocketFile, std::string> SocketFile::adopt(const std::string& path, const PathTrust& trust,
                                                        UniqueFd listen_fd, UniqueFd lock_fd) {
  SocketFile file;
  file.path_ = path;
  auto [dir, name] = split_path(path);
  file.name_ = name;
  auto opened = open_safe_dir(dir, trust, Missing::fail);
  if (auto* problem = std::get_if<PathProblem>(&opened)) return socket_dir_problem(dir, *problem);
  file.dir_ = std::move(std::get<SafeDir>(opened));
  struct stat st {};
  if (::fstatat(file.dir_.fd(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISSOCK(st.st_mode))
    return path + ": the socket the previous superd listened on is gone";
  file.dev_ = st.st_dev;
  file.ino_ = st.st_ino;
  file.bound_ = true;
  file.listen_fd_ = std::move(listen_fd);
  file.lock_fd_ = std::move(lock_fd);
  return file;
}

std::optional<std::string> SocketFile::set_group(std::optional<gid_t> group) {
  if (!bound_ || !dir_) return path_ + ": not bound";
  struct stat st {};
  if (::fstatat(dir_.fd(), name_.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0 || st.st_dev != dev_ ||
      st.st_ino != ino_)
    return path_ + ": no longer the socket superd bound";
  if (auto problem = chown_safe_socket(dir_, name_, ::geteuid(), group.value_or(::getegid()),
                                       group ? 0660 : 0600))
    return problem->describe(path_);
  return std::nullopt;
}

SocketFile::~SocketFile() { remove(); }

void SocketFile::remove() {
  if (!bound_ || !dir_) return;
  bound_ = false;
  struct stat st {};
  if (::fstatat(dir_.fd(), name_.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 &&
      st.st_dev == dev_ && st.st_ino == ino_)
    ::unlinkat(dir_.fd(), name_.c_str(), 0);
}

}  // namespace superd::ipc
