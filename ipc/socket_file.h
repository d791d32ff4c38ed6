// The control socket as a file system object: its directory, its permissions, the
// lock that makes one daemon its only owner, and its removal. No libuv here: create()
// hands back a listening fd, and the server gives it to the loop.
//
// Why the lock: "probe, find it stale, unlink, bind" is a check-then-act; two daemons
// starting together could both find the old socket stale and the second would unlink
// the first's fresh socket. flock() on PATH.lock, held for the server's lifetime,
// serialises that. The lock file stays behind on purpose: unlinking a lock file lets
// two later lockers hold locks on different inodes.
//
// The directory is walked and checked as base/safe_path.h says: root's (or superd's),
// writable by nobody else, not even with the sticky bit (anyone could create the lock or
// the socket first in /tmp). The lock and the socket are made relative to it.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <variant>

#include "base/fd.h"
#include "base/safe_path.h"

namespace superd::ipc {

class SocketFile {
 public:
  // Prepares the directory, takes the lock, replaces a stale socket, binds (mode 0660
  // owned euid:group, or 0600 without a group) and listens. Error text names the path.
  static std::variant<SocketFile, std::string> create(const std::string& path,
                                                      std::optional<gid_t> group,
                                                      const PathTrust& trust = {},
                                                      int backlog = 128);
  // Re-exec: the socket (listening) and lock a previous superd of this process made.
  static std::variant<SocketFile, std::string> adopt(const std::string& path, const PathTrust& trust,
                                                     UniqueFd listen_fd, UniqueFd lock_fd);
  // Owner euid:group, mode 0660 (0600 without a group), on the bound inode: a changed
  // socket_group. Error text names the path.
  std::optional<std::string> set_group(std::optional<gid_t> group);

  SocketFile(SocketFile&&) = default;
  SocketFile& operator=(SocketFile&&) = default;
  // Unlinks the socket if the path is still the inode bound here; releases the lock.
  ~SocketFile();

  // The listening socket, now owned by the caller (libuv closes it).
  int release_listen_fd() { return listen_fd_.release(); }
  const std::string& path() const { return path_; }
  int lock_fd() const { return lock_fd_.get(); }

 private:
  SocketFile() = default;
  void remove();

  std::string path_;
  std::string name_;  // last component, relative to dir_fd_
  SafeDir dir_;
  UniqueFd lock_fd_;
  UniqueFd listen_fd_;
  dev_t dev_ = 0;
  ino_t ino_ = 0;
  bool bound_ = false;
};

}  // namespace superd::ipc
