// Files in a checked directory (safe_path.h): opened without following a link, and
// used only when regular, with one link, a trusted owner's; replaced by rename.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "base/safe_path.h"
#include "base/safe_path_detail.h"

namespace superd {

using namespace safe_path_detail;

namespace {

// What makes a file superd may use: a regular file with one link, a trusted owner's.
std::optional<PathProblem> regular_file_problem(const struct stat& st, const std::string& path,
                                                const PathTrust& trust) {
  if (!S_ISREG(st.st_mode)) return PathProblem{path, "is " + kind_of(st.st_mode) + ", not a regular file"};
  if (st.st_nlink != 1) {
    return PathProblem{path,
                       "has " + std::to_string(st.st_nlink) + " hard links; superd opens only files with one",
                       true};
  }
  if (!trust.trusts_owner(st.st_uid)) return PathProblem{path, owner_problem(st.st_uid, trust), true};
  return std::nullopt;
}

}  // namespace

std::variant<UniqueFd, PathProblem> open_safe_file(const SafeDir& dir, const std::string& name,
                                                   const PathTrust& trust, FileRules rules) {
  const std::string path = dir.path_of(name);
  if (!is_component(name)) return PathProblem{path, "is not a file name"};
  const int flags = rules.flags | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY;
  UniqueFd fd(::openat(dir.fd(), name.c_str(), flags, rules.create_mode));
  if (!fd) {
    const int error = errno;
    struct stat st {};
    const bool seen = ::fstatat(dir.fd(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0;
    if (error == ELOOP || (seen && S_ISLNK(st.st_mode))) {
      return PathProblem{path, "is a symlink; superd opens files only without following one", true};
    }
    if (seen && !S_ISREG(st.st_mode)) return PathProblem{path, "is " + kind_of(st.st_mode) + ", not a regular file"};
    if (error == ENOENT) return PathProblem{path, "does not exist"};
    return PathProblem{path, "cannot be opened: " + errno_text(error)};
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return PathProblem{path, "cannot be checked: " + errno_text(errno)};
  if (auto problem = regular_file_problem(st, path, trust)) return *problem;
  if (rules.max_bytes > 0 && static_cast<uint64_t>(st.st_size) > rules.max_bytes) {
    return PathProblem{path, "is larger than " + std::to_string(rules.max_bytes >> 20) + " MiB"};
  }
  // Regular files never block; later reads and writes need no O_NONBLOCK.
  ::fcntl(fd.get(), F_SETFL, ::fcntl(fd.get(), F_GETFL) & ~O_NONBLOCK);
  return fd;
}

std::optional<PathProblem> check_safe_file(const SafeDir& dir, const std::string& name,
                                           const PathTrust& trust) {
  const std::string path = dir.path_of(name);
  if (!is_component(name)) return PathProblem{path, "is not a file name"};
  // One lstat beside the directory's fd (a symlink is seen, not followed): a reload
  // checks every service's log file, so this is one syscall, not open, fstat, close.
  struct stat st {};
  if (::fstatat(dir.fd(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    return PathProblem{path, errno == ENOENT ? "does not exist" : "cannot be checked: " + errno_text(errno)};
  }
  if (S_ISLNK(st.st_mode)) {
    return PathProblem{path, "is a symlink; superd opens files only without following one", true};
  }
  return regular_file_problem(st, path, trust);
}

std::variant<std::string, PathProblem> read_safe_file(const SafeDir& dir, const std::string& name,
                                                      const PathTrust& trust, uint64_t max_bytes) {
  auto opened = open_safe_file(dir, name, trust, {O_RDONLY, 0, max_bytes});
  if (auto* problem = std::get_if<PathProblem>(&opened)) return *problem;
  const int fd = std::get<UniqueFd>(opened).get();
  const PathProblem too_large{dir.path_of(name), "is larger than " + std::to_string(max_bytes >> 20) + " MiB"};
  std::string content;
  for (;;) {
    if (content.size() > max_bytes) return too_large;
    char buf[16384];
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return PathProblem{dir.path_of(name), "cannot be read: " + errno_text(errno)};
    if (n == 0) break;
    content.append(buf, static_cast<size_t>(n));
  }
  if (content.size() > max_bytes) return too_large;
  return content;
}

std::variant<std::string, PathProblem> read_safe_file(const std::string& path,
                                                      const PathTrust& trust, uint64_t max_bytes) {
  auto [dir_path, name] = split_path(path);
  auto dir = open_safe_dir(dir_path, trust);
  if (auto* problem = std::get_if<PathProblem>(&dir)) return *problem;
  return read_safe_file(std::get<SafeDir>(dir), name, trust, max_bytes);
}

std::optional<PathProblem> replace_safe_file(const SafeDir& dir, const std::string& name,
                                             const std::string& content, mode_t mode, bool sync) {
  const std::string tmp = name + ".tmp";
  const std::string tmp_path = dir.path_of(tmp);
  // A leftover of a crash mid-write: ours (nobody else can write here), gone.
  ::unlinkat(dir.fd(), tmp.c_str(), 0);
  UniqueFd fd(::openat(dir.fd(), tmp.c_str(),
                       O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, mode));
  if (!fd) return PathProblem{tmp_path, "cannot be created: " + errno_text(errno)};
  auto fail = [&](const std::string& what) {
    PathProblem problem{tmp_path, what + ": " + errno_text(errno)};
    ::unlinkat(dir.fd(), tmp.c_str(), 0);
    return problem;
  };
  size_t done = 0;
  while (done < content.size()) {
    const ssize_t n = ::write(fd.get(), content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail("cannot be written");
    done += static_cast<size_t>(n);
  }
  if (sync && ::fsync(fd.get()) != 0) return fail("cannot be synced");
  fd.reset();
  if (::renameat(dir.fd(), tmp.c_str(), dir.fd(), name.c_str()) != 0) {
    return fail("cannot be renamed to " + name);
  }
  if (sync) {
    // The rename itself must reach the disk, or a crash could bring back the old file.
    UniqueFd self(::openat(dir.fd(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (self) ::fsync(self.get());
  }
  return std::nullopt;
}

}  // namespace superd
