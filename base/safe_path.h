// The one way superd, as root, opens a path a config gave it.
//
// A path is walked from / one component at a time (openat with O_PATH|O_NOFOLLOW), and
// every directory on the way is checked on its descriptor, so what is checked is what is
// used, whatever anyone renames meanwhile:
//
//  - it is owned by root (or superd's euid, or one of PathTrust::owners: an env_file may
//    sit in its service user's home);
//  - nobody else can replace what is inside it: not writable by others, and not by its
//    group unless the group is root's, superd's own, or the directory is one the
//    operator listed in `[supervisor] allow_group_writable` (with a reason). A sticky
//    world-writable directory such as /tmp is acceptable on the way (the sticky bit keeps
//    others from renaming an entry they do not own, so the next component must be owned
//    by a trusted uid), but never as the directory that holds superd's files: anyone could
//    create the names superd is about to use;
//  - a symlink on the way is followed only when root (or superd's euid) owns it, as
//    /var/run -> /run: only a writer of its (checked) directory could have made it. The
//    target is walked with the same checks; at most 40 of them. `..` is refused.
//
// The file itself is opened relative to the checked directory's descriptor with
// O_NOFOLLOW|O_NONBLOCK|O_CLOEXEC|O_NOCTTY (a symlink is refused, a FIFO cannot block the
// open) and fstat'ed: a regular file, one link (a hard link to /etc/shadow is refused),
// owned by a trusted uid, within a size cap where it is read. Every create, chown, chmod,
// rename and unlink is relative to the directory's descriptor, and a socket's chown and
// chmod go to the very inode that was checked (O_PATH descriptor, AT_EMPTY_PATH).
//
// Errors complete a sentence about the path: "'/var/log/celery' is writable by group
// 'www' (mode 0775)", "'/srv/x/.env': '/srv/x' is owned by 'www' (uid 993), not by root".
#pragma once

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "base/fd.h"

namespace superd {

// Who may own the directories and files on the way besides root and superd's euid, and
// which directories the operator allowed to be writable by their group.
struct PathTrust {
  std::vector<uid_t> owners;                // e.g. an env_file's: the service's user
  std::vector<std::string> group_writable;  // exact directory paths (allow_group_writable)

  bool trusts_owner(uid_t uid) const;
  bool allows_group_write(const std::string& dir) const;
  PathTrust with_owner(uid_t uid) const;
  bool operator==(const PathTrust&) const = default;
};

// What is wrong with a path: the directory or file at fault and the rest of a sentence
// about it ("is writable by group 'www' (mode 0775)", "does not exist").
struct PathProblem {
  std::string where;
  std::string why;
  // Someone other than root could change it (its owner, its mode, a symlink of theirs),
  // as opposed to a path that is merely missing, of the wrong kind or unreadable.
  bool unsafe = false;
  // "'PATH' WHY" when the path itself is at fault, else "'PATH': 'WHERE' WHY".
  std::string describe(const std::string& path) const;
  // "WHAT " + describe(path), then ": CONSEQUENCE" when it is unsafe: "log_dir
  // '/var/log/celery' is writable by group 'www' (mode 0775): superd writes root-owned
  // files there".
  std::string explain(const std::string& what, const std::string& path,
                      const std::string& consequence) const;
};

// A directory that passed the walk, held by an O_PATH descriptor.
class SafeDir {
 public:
  SafeDir() = default;
  SafeDir(UniqueFd fd, std::string path) : fd_(std::move(fd)), path_(std::move(path)) {}
  int fd() const { return fd_.get(); }
  explicit operator bool() const { return static_cast<bool>(fd_); }
  const std::string& path() const { return path_; }
  std::string path_of(const std::string& name) const;
  // The checks again on the same descriptor: the directory may have been chmod'ed or
  // chown'ed since it was opened.
  std::optional<PathProblem> recheck(const PathTrust& trust) const;

 private:
  UniqueFd fd_;
  std::string path_;
};

enum class Missing {
  fail,    // a missing component is a problem ("does not exist")
  create,  // missing components are made (mkdirat, `mode`, owned by superd)
  accept,  // --check: a missing rest is what superd will create; the deepest existing
           // directory must then be fit to hold it. Returns that directory.
};

std::variant<SafeDir, PathProblem> open_safe_dir(const std::string& path, const PathTrust& trust,
                                                 Missing missing = Missing::fail,
                                                 mode_t mode = 0755);

// "/a/b/c" -> {"/a/b", "c"}; "/c" -> {"/", "c"}.
std::pair<std::string, std::string> split_path(const std::string& path);

// How a file in a checked directory is opened.
struct FileRules {
  int flags = O_RDONLY;       // O_WRONLY|O_APPEND|O_CREAT, ...; O_NOFOLLOW etc. are added
  mode_t create_mode = 0640;  // with O_CREAT
  uint64_t max_bytes = 0;     // 0: no cap on the size
};

// `name` (one component) in `dir`, opened and checked on the descriptor: a regular file
// with one link, owned by a trusted uid, within the cap.
std::variant<UniqueFd, PathProblem> open_safe_file(const SafeDir& dir, const std::string& name,
                                                   const PathTrust& trust, FileRules rules = {});

// What open_safe_file would refuse about `name` in `dir`, found without opening it
// (O_PATH: no FIFO opened, no device touched): nullopt when it is fine, "does not
// exist" when it is missing.
std::optional<PathProblem> check_safe_file(const SafeDir& dir, const std::string& name,
                                           const PathTrust& trust);

// The whole of `name` in `dir` (at most max_bytes; the file may grow while it is read).
std::variant<std::string, PathProblem> read_safe_file(const SafeDir& dir, const std::string& name,
                                                      const PathTrust& trust, uint64_t max_bytes);
// The same for an absolute path: its directory walked, then the file.
std::variant<std::string, PathProblem> read_safe_file(const std::string& path,
                                                      const PathTrust& trust, uint64_t max_bytes);

// Replaces `name` in `dir` with `content`: a fresh NAME.tmp (O_EXCL, `mode`), written,
// optionally fsync'ed, renamed over NAME, and the directory fsync'ed.
std::optional<PathProblem> replace_safe_file(const SafeDir& dir, const std::string& name,
                                             const std::string& content, mode_t mode, bool sync);

// Unix sockets in a checked directory. The path is bound by name: every directory on the
// way passed the walk, so the name resolves to the checked directory. Then the new inode
// is opened O_PATH|O_NOFOLLOW relative to the directory, checked (a socket, one link,
// superd's), and chown'ed and chmod'ed through that descriptor: no name is looked up
// again in between.
//
// The entry `name` when it is a socket (a stale one: the caller decides whether it is);
// refuses anything else in the way. True when something was removed.
std::variant<bool, PathProblem> remove_stale_socket(const SafeDir& dir, const std::string& name);
// bind(fd, DIR/NAME) under umask 0177, then owner:group and mode on the inode.
std::optional<PathProblem> bind_safe_socket(const SafeDir& dir, const std::string& name, int fd,
                                            uid_t owner, gid_t group, mode_t mode);
// chown and chmod of an existing socket in `dir`, checked the same way (a changed
// socket_group on reload-config).
std::optional<PathProblem> chown_safe_socket(const SafeDir& dir, const std::string& name,
                                             uid_t owner, gid_t group, mode_t mode);

// "www" for a known user or group, else the number.
std::string user_label(uid_t uid);
std::string group_label_of(gid_t gid);

}  // namespace superd
