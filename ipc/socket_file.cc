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

// The directory and last component of `path` ("." when there is no slash).
std::pair<std::string, std::string> split_path(const std::string& path) {
  const std::size_t slash = path.rfind('/');
  if (slash == std::string::npos) return {".", path};
  if (slash == 0) return {"/", path.substr(1)};
  return {path.substr(0, slash), path.substr(slash + 1)};
}

bool fill_address(const std::string& path, sockaddr_un& addr) {
  std::memset(&addr, 0, sizeof addr);
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) return false;
  std::memcpy(addr.sun_path, path.data(), path.size());
  return true;
}

// Creates the directory if missing, opens it without following a symlink, and checks
// that nobody but superd (or root) can replace what is inside.
std::variant<UniqueFd, std::string> open_socket_dir(const std::string& dir) {
  bool created = false;
  if (::mkdir(dir.c_str(), 0755) == 0) {
    created = true;
  } else if (errno != EEXIST) {
    return "cannot create directory " + dir + ": " + errno_text(errno);
  }
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd) {
    // With O_DIRECTORY, a symlink fails as ENOTDIR rather than ELOOP: look closer.
    const int error = errno;
    struct stat st {};
    if (error == ELOOP || (::lstat(dir.c_str(), &st) == 0 && S_ISLNK(st.st_mode)))
      return dir + ": is a symlink; refusing to put the socket there";
    return "cannot open directory " + dir + ": " + errno_text(error);
  }
  // The umask may have narrowed mkdir's mode; members of the group need to search it.
  if (created && ::fchmod(fd.get(), 0755) != 0)
    return "cannot chmod directory " + dir + ": " + errno_text(errno);

  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return "cannot stat " + dir + ": " + errno_text(errno);
  if (st.st_uid != 0 && st.st_uid != ::geteuid())
    return dir + ": owned by uid " + std::to_string(st.st_uid) + ", not by root";
  const bool sticky = (st.st_mode & S_ISVTX) != 0;
  const bool others_write = (st.st_mode & S_IWOTH) != 0;
  const bool group_write = (st.st_mode & S_IWGRP) != 0 && st.st_gid != 0;
  if ((others_write || group_write) && !sticky)
    return dir + ": writable by " + (others_write ? "others" : "its group") +
           " without the sticky bit; refusing to put the socket there";
  return fd;
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
                                                         int backlog) {
  sockaddr_un addr;
  if (!fill_address(path, addr))
    return path + ": socket path too long (at most " +
           std::to_string(sizeof addr.sun_path - 1) + " bytes)";
  SocketFile file;
  file.path_ = path;
  auto [dir, name] = split_path(path);
  if (name.empty() || name == "." || name == "..") return path + ": not a socket file name";
  file.name_ = name;

  auto dir_fd = open_socket_dir(dir);
  if (auto* error = std::get_if<std::string>(&dir_fd)) return *error;
  file.dir_fd_ = std::move(std::get<UniqueFd>(dir_fd));

  const std::string lock_name = name + ".lock";
  file.lock_fd_.reset(::openat(file.dir_fd_.get(), lock_name.c_str(),
                               O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!file.lock_fd_) return dir + "/" + lock_name + ": " + errno_text(errno);
  if (::flock(file.lock_fd_.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK) return path + ": another superd is listening";
    return dir + "/" + lock_name + ": flock: " + errno_text(errno);
  }

  auto found = probe(file.dir_fd_.get(), name, path);
  if (auto* error = std::get_if<std::string>(&found)) return *error;
  if (std::get<Probe>(found) == Probe::live) return path + ": another superd is listening";
  if (std::get<Probe>(found) == Probe::stale &&
      ::unlinkat(file.dir_fd_.get(), name.c_str(), 0) != 0 && errno != ENOENT)
    return path + ": cannot remove the stale socket: " + errno_text(errno);

  file.listen_fd_.reset(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!file.listen_fd_) return path + ": socket: " + errno_text(errno);
  // bind() creates the inode with 0777 & ~umask: under 0177 it never exists wider than
  // 0600, and only becomes 0660 once its group is right.
  const mode_t old_umask = ::umask(0177);
  const int bound = ::bind(file.listen_fd_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  const int bind_errno = errno;
  ::umask(old_umask);
  if (bound != 0) return path + ": bind: " + errno_text(bind_errno);

  struct stat st {};
  if (::fstatat(file.dir_fd_.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0)
    return path + ": cannot stat the new socket: " + errno_text(errno);
  file.dev_ = st.st_dev;
  file.ino_ = st.st_ino;
  file.bound_ = true;  // from here on, the destructor removes it

  // By name, relative to the checked directory: fchmod() on a socket fd does not reach
  // the file's inode. Nobody else can write to the directory, so the name is ours.
  const gid_t gid = group.value_or(::getegid());
  if (::fchownat(file.dir_fd_.get(), name.c_str(), ::geteuid(), gid, AT_SYMLINK_NOFOLLOW) != 0)
    return path + ": chown: " + errno_text(errno);
  if (::fchmodat(file.dir_fd_.get(), name.c_str(), group ? 0660 : 0600, 0) != 0)
    return path + ": chmod: " + errno_text(errno);
  if (::listen(file.listen_fd_.get(), backlog) != 0) return path + ": listen: " + errno_text(errno);
  return file;
}

SocketFile::~SocketFile() { remove(); }

void SocketFile::remove() {
  if (!bound_ || !dir_fd_) return;
  bound_ = false;
  struct stat st {};
  if (::fstatat(dir_fd_.get(), name_.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 &&
      st.st_dev == dev_ && st.st_ino == ino_)
    ::unlinkat(dir_fd_.get(), name_.c_str(), 0);
}

}  // namespace superd::ipc
