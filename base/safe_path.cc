#include "base/safe_path.h"

#include <grp.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <deque>

namespace superd {
namespace {

constexpr int kMaxSymlinks = 40;  // as the kernel's ELOOP limit

std::string errno_text(int error) { return std::strerror(error); }

std::string octal_mode(mode_t mode) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(mode & 07777));
  return buf;
}

std::string join(const std::string& dir, const std::string& name) {
  return dir == "/" ? "/" + name : dir + "/" + name;
}

bool is_component(const std::string& name) {
  return !name.empty() && name != "." && name != ".." && name.find('/') == std::string::npos &&
         name.find('\0') == std::string::npos;
}

bool root_or_self(uid_t uid) { return uid == 0 || uid == ::geteuid(); }

std::string kind_of(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISSOCK(mode)) return "a socket";
  if (S_ISCHR(mode) || S_ISBLK(mode)) return "a device";
  if (S_ISLNK(mode)) return "a symlink";
  return "not a regular file";
}

std::string allowed_owners(const PathTrust& trust) {
  std::string out = "root";
  for (uid_t uid : trust.owners) {
    if (uid != 0) out += " or '" + user_label(uid) + "'";
  }
  return out;
}

std::string owner_problem(uid_t uid, const PathTrust& trust) {
  return "is owned by '" + user_label(uid) + "' (uid " + std::to_string(uid) + "), not by " +
         allowed_owners(trust);
}

// How others may change the entries of a directory.
enum class Shared {
  no,      // only its owner (and root): what is inside stays what superd put there
  sticky,  // writable by others or a group, sticky: they cannot rename what they do not own
  yes,     // writable by others or a group: anything inside may be replaced
};

bool group_is_ours(gid_t gid) { return gid == 0 || gid == ::getegid(); }

Shared shared(const struct stat& st, const std::string& path, const PathTrust& trust) {
  const bool others = (st.st_mode & S_IWOTH) != 0;
  const bool group = (st.st_mode & S_IWGRP) != 0 && !group_is_ours(st.st_gid) &&
                     !trust.allows_group_write(path);
  if (!others && !group) return Shared::no;
  return (st.st_mode & S_ISVTX) ? Shared::sticky : Shared::yes;
}

std::string write_problem(const struct stat& st) {
  if (st.st_mode & S_IWOTH) return "is writable by others (mode " + octal_mode(st.st_mode) + ")";
  return "is writable by group '" + group_label_of(st.st_gid) + "' (mode " + octal_mode(st.st_mode) + ")";
}

// The checks on one directory of the walk. `holds` : it is the directory superd puts
// its entries in (or creates the missing rest in), so even a sticky bit is not enough.
std::optional<PathProblem> check_dir(const struct stat& st, const std::string& path,
                                     const PathTrust& trust, bool holds) {
  if (!S_ISDIR(st.st_mode)) return PathProblem{path, "is " + kind_of(st.st_mode) + ", not a directory"};
  if (!trust.trusts_owner(st.st_uid)) return PathProblem{path, owner_problem(st.st_uid, trust), true};
  const Shared s = shared(st, path, trust);
  if (s == Shared::yes || (holds && s == Shared::sticky)) {
    return PathProblem{path, write_problem(st), true};
  }
  return std::nullopt;
}

std::deque<std::string> components(const std::string& path) {
  std::deque<std::string> out;
  size_t pos = 0;
  while (pos < path.size()) {
    size_t slash = path.find('/', pos);
    if (slash == std::string::npos) slash = path.size();
    if (slash > pos) out.push_back(path.substr(pos, slash - pos));
    pos = slash + 1;
  }
  return out;
}

UniqueFd open_root(std::string* error) {
  UniqueFd fd(::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!fd) *error = "cannot be opened: " + errno_text(errno);
  return fd;
}

std::optional<std::string> read_link(int fd) {
  std::string target(4096, '\0');
  const ssize_t n = ::readlinkat(fd, "", target.data(), target.size());
  if (n < 0 || static_cast<size_t>(n) >= target.size()) return std::nullopt;
  target.resize(static_cast<size_t>(n));
  return target;
}

}  // namespace

// ---- PathTrust, PathProblem ------------------------------------------------------

bool PathTrust::trusts_owner(uid_t uid) const {
  return root_or_self(uid) || std::find(owners.begin(), owners.end(), uid) != owners.end();
}

bool PathTrust::allows_group_write(const std::string& dir) const {
  for (std::string allowed : group_writable) {
    while (allowed.size() > 1 && allowed.back() == '/') allowed.pop_back();
    if (allowed == dir) return true;
  }
  return false;
}

PathTrust PathTrust::with_owner(uid_t uid) const {
  PathTrust out = *this;
  if (!out.trusts_owner(uid)) out.owners.push_back(uid);
  return out;
}

std::string PathProblem::describe(const std::string& path) const {
  if (where == path || where.empty()) return "'" + path + "' " + why;
  return "'" + path + "': '" + where + "' " + why;
}

std::string PathProblem::explain(const std::string& what, const std::string& path,
                                 const std::string& consequence) const {
  std::string out = what.empty() ? describe(path) : what + " " + describe(path);
  if (unsafe && !consequence.empty()) out += ": " + consequence;
  return out;
}

std::string user_label(uid_t uid) {
  std::vector<char> buf(16384);
  passwd pw{};
  passwd* found = nullptr;
  if (::getpwuid_r(uid, &pw, buf.data(), buf.size(), &found) == 0 && found) return pw.pw_name;
  return std::to_string(uid);
}

std::string group_label_of(gid_t gid) {
  std::vector<char> buf(16384);
  group gr{};
  group* found = nullptr;
  if (::getgrgid_r(gid, &gr, buf.data(), buf.size(), &found) == 0 && found) return gr.gr_name;
  return std::to_string(gid);
}

std::pair<std::string, std::string> split_path(const std::string& path) {
  std::string p = path;
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  const size_t slash = p.rfind('/');
  if (slash == std::string::npos) return {".", p};
  if (slash == 0) return {"/", p.substr(1)};
  return {p.substr(0, slash), p.substr(slash + 1)};
}

// ---- SafeDir ---------------------------------------------------------------------

std::string SafeDir::path_of(const std::string& name) const { return join(path_, name); }

std::optional<PathProblem> SafeDir::recheck(const PathTrust& trust) const {
  struct stat st {};
  if (::fstat(fd_.get(), &st) != 0) return PathProblem{path_, "cannot be checked: " + errno_text(errno)};
  return check_dir(st, path_, trust, /*holds=*/true);
}

// ---- the walk --------------------------------------------------------------------

std::variant<SafeDir, PathProblem> open_safe_dir(const std::string& path, const PathTrust& trust,
                                                 Missing missing, mode_t mode) {
  if (path.empty() || path.front() != '/') return PathProblem{path, "is not an absolute path"};
  std::string error;
  UniqueFd cur = open_root(&error);
  if (!cur) return PathProblem{"/", error};
  std::string cur_path = "/";  // where the walk is, symlinks resolved
  struct stat st {};
  if (::fstat(cur.get(), &st) != 0) return PathProblem{"/", "cannot be checked: " + errno_text(errno)};
  std::deque<std::string> todo = components(path);
  int links = 0;
  // Whether `cur` may be the one superd works in is known once the walk ends there.
  auto check_here = [&](bool holds) { return check_dir(st, cur_path, trust, holds); };
  while (!todo.empty()) {
    const std::string name = todo.front();
    todo.pop_front();
    if (name == ".") continue;
    if (name == "..") return PathProblem{path, "contains '..'"};
    if (auto problem = check_here(/*holds=*/false)) return *problem;
    const Shared parent = shared(st, cur_path, trust);
    const std::string next_path = join(cur_path, name);
    UniqueFd next(::openat(cur.get(), name.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
    if (!next && errno == ENOENT && missing != Missing::fail) {
      // superd makes (or will make) the rest here: nobody else may add entries.
      if (auto problem = check_here(/*holds=*/true)) return *problem;
      if (missing == Missing::accept) return SafeDir(std::move(cur), cur_path);
      if (::mkdirat(cur.get(), name.c_str(), mode) == 0) {
        // The umask may have narrowed mkdir's mode. Nobody else can write here, so the
        // name is still the directory just made.
        ::fchmodat(cur.get(), name.c_str(), mode, 0);
      } else if (errno != EEXIST) {
        return PathProblem{next_path, "cannot be created: " + errno_text(errno)};
      }
      next.reset(::openat(cur.get(), name.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
    }
    if (!next) {
      return PathProblem{next_path, errno == ENOENT ? "does not exist"
                                                    : "cannot be opened: " + errno_text(errno)};
    }
    struct stat next_st {};
    if (::fstat(next.get(), &next_st) != 0) {
      return PathProblem{next_path, "cannot be checked: " + errno_text(errno)};
    }
    if (S_ISLNK(next_st.st_mode)) {
      if (!root_or_self(next_st.st_uid)) {
        return PathProblem{next_path,
                           "is a symlink owned by '" + user_label(next_st.st_uid) +
                               "'; superd follows only root's",
                           true};
      }
      if (++links > kMaxSymlinks) return PathProblem{path, "has too many levels of symlinks"};
      auto target = read_link(next.get());
      if (!target || target->empty()) return PathProblem{next_path, "is a symlink that cannot be read"};
      std::deque<std::string> more = components(*target);
      todo.insert(todo.begin(), more.begin(), more.end());
      if (target->front() == '/') {
        cur = open_root(&error);
        if (!cur) return PathProblem{"/", error};
        cur_path = "/";
        if (::fstat(cur.get(), &st) != 0) return PathProblem{"/", "cannot be checked: " + errno_text(errno)};
      }
      continue;
    }
    if (!S_ISDIR(next_st.st_mode)) {
      return PathProblem{next_path, "is " + kind_of(next_st.st_mode) + ", not a directory"};
    }
    // Below a sticky shared directory, only the owner of an entry may rename it: the
    // entry must be a trusted uid's (root's /tmp/superd-test.X is; www's is not).
    if (parent == Shared::sticky && !trust.trusts_owner(next_st.st_uid)) {
      return PathProblem{next_path, owner_problem(next_st.st_uid, trust), true};
    }
    cur = std::move(next);
    cur_path = next_path;
    st = next_st;
  }
  if (auto problem = check_here(/*holds=*/true)) return *problem;
  return SafeDir(std::move(cur), path);
}

// ---- files -----------------------------------------------------------------------

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
  if (!S_ISREG(st.st_mode)) return PathProblem{path, "is " + kind_of(st.st_mode) + ", not a regular file"};
  if (st.st_nlink != 1) {
    return PathProblem{path,
                       "has " + std::to_string(st.st_nlink) + " hard links; superd opens only files with one",
                       true};
  }
  if (!trust.trusts_owner(st.st_uid)) return PathProblem{path, owner_problem(st.st_uid, trust), true};
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
  UniqueFd fd(::openat(dir.fd(), name.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
  if (!fd) {
    return PathProblem{path, errno == ENOENT ? "does not exist" : "cannot be opened: " + errno_text(errno)};
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return PathProblem{path, "cannot be checked: " + errno_text(errno)};
  if (S_ISLNK(st.st_mode)) {
    return PathProblem{path, "is a symlink; superd opens files only without following one", true};
  }
  if (!S_ISREG(st.st_mode)) return PathProblem{path, "is " + kind_of(st.st_mode) + ", not a regular file"};
  if (st.st_nlink != 1) {
    return PathProblem{path,
                       "has " + std::to_string(st.st_nlink) + " hard links; superd opens only files with one",
                       true};
  }
  if (!trust.trusts_owner(st.st_uid)) return PathProblem{path, owner_problem(st.st_uid, trust), true};
  return std::nullopt;
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

// ---- sockets ---------------------------------------------------------------------

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
