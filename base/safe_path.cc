#include "base/safe_path.h"

#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <deque>

#include "base/safe_path_detail.h"

namespace superd {
namespace safe_path_detail {

std::string errno_text(int error) { return std::strerror(error); }

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

}  // namespace safe_path_detail

namespace {

using namespace safe_path_detail;

constexpr int kMaxSymlinks = 40;  // as the kernel's ELOOP limit

std::string octal_mode(mode_t mode) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(mode & 07777));
  return buf;
}

std::string join(const std::string& dir, const std::string& name) {
  return dir == "/" ? "/" + name : dir + "/" + name;
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

namespace {

// Where the walk of open_safe_dir is: a directory's O_PATH fd, its path with symlinks
// resolved, and its stat.
struct WalkAt {
  UniqueFd fd;
  std::string path;
  struct stat st {};
};

std::optional<PathProblem> walk_from_root(WalkAt& at) {
  std::string error;
  at.fd = open_root(&error);
  if (!at.fd) return PathProblem{"/", error};
  at.path = "/";
  if (::fstat(at.fd.get(), &at.st) != 0) return PathProblem{"/", "cannot be checked: " + errno_text(errno)};
  return std::nullopt;
}

// Makes the missing directory `name` with exactly `mode` (EEXIST: made meanwhile, by
// superd: nobody else can write here).
std::optional<PathProblem> make_dir(const WalkAt& at, const std::string& name, mode_t mode) {
  if (::mkdirat(at.fd.get(), name.c_str(), mode) == 0) {
    // The umask may have narrowed mkdir's mode. Nobody else can write here, so the
    // name is still the directory just made.
    ::fchmodat(at.fd.get(), name.c_str(), mode, 0);
  } else if (errno != EEXIST) {
    return PathProblem{join(at.path, name), "cannot be created: " + errno_text(errno)};
  }
  return std::nullopt;
}

// A symlink on the way: only root's (or superd's) is followed, its target's components
// walked next, from / when it is absolute.
std::optional<PathProblem> follow_link(WalkAt& at, const UniqueFd& link, const struct stat& st,
                                       const std::string& link_path, const std::string& path,
                                       int& links, std::deque<std::string>& todo) {
  if (!root_or_self(st.st_uid)) {
    return PathProblem{link_path,
                       "is a symlink owned by '" + user_label(st.st_uid) + "'; superd follows only root's",
                       true};
  }
  if (++links > kMaxSymlinks) return PathProblem{path, "has too many levels of symlinks"};
  auto target = read_link(link.get());
  if (!target || target->empty()) return PathProblem{link_path, "is a symlink that cannot be read"};
  std::deque<std::string> more = components(*target);
  todo.insert(todo.begin(), more.begin(), more.end());
  if (target->front() == '/') return walk_from_root(at);
  return std::nullopt;
}

}  // namespace

std::variant<SafeDir, PathProblem> open_safe_dir(const std::string& path, const PathTrust& trust,
                                                 Missing missing, mode_t mode) {
  if (path.empty() || path.front() != '/') return PathProblem{path, "is not an absolute path"};
  WalkAt at;
  if (auto problem = walk_from_root(at)) return *problem;
  std::deque<std::string> todo = components(path);
  int links = 0;
  // Whether `at` may be the one superd works in is known once the walk ends there.
  auto check_here = [&](bool holds) { return check_dir(at.st, at.path, trust, holds); };
  while (!todo.empty()) {
    const std::string name = todo.front();
    todo.pop_front();
    if (name == ".") continue;
    if (name == "..") return PathProblem{path, "contains '..'"};
    if (auto problem = check_here(/*holds=*/false)) return *problem;
    const Shared parent = shared(at.st, at.path, trust);
    const std::string next_path = join(at.path, name);
    UniqueFd next(::openat(at.fd.get(), name.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
    if (!next && errno == ENOENT && missing != Missing::fail) {
      // superd makes (or will make) the rest here: nobody else may add entries.
      if (auto problem = check_here(/*holds=*/true)) return *problem;
      if (missing == Missing::accept) return SafeDir(std::move(at.fd), at.path);
      if (auto problem = make_dir(at, name, mode)) return *problem;
      next.reset(::openat(at.fd.get(), name.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
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
      if (auto problem = follow_link(at, next, next_st, next_path, path, links, todo)) return *problem;
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
    at.fd = std::move(next);
    at.path = next_path;
    at.st = next_st;
  }
  if (auto problem = check_here(/*holds=*/true)) return *problem;
  return SafeDir(std::move(at.fd), path);
}

}  // namespace superd
