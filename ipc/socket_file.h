// The control socket as a file system object: its directory, its permissions, the
// lock that makes one daemon its only owner, and its removal. No libuv here: create()
// hands back a listening fd, and the server gives it to the loop.
//
// Why the lock: "probe, find it stale, unlink, bind" is a check-then-act; two daemons
// starting together could both find the old socket stale and the second would unlink
// the first's fresh socket. flock() on PATH.lock, held for the server's lifetime,
// serialises that. The lock file stays behind on purpose: unlinking a lock file lets
// two later lockers hold locks on different inodes.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <variant>

#include "base/fd.h"

namespace superd::ipc {

class SocketFile {
 public:
  // Prepares the directory, takes the lock, replaces a stale socket, binds (mode 0660
  // owned euid:group, or 0600 without a group) and listens. Error text names the path.
  static std::variant<SocketFile, std::string> create(const std::string& path,
                                                      std::optional<gid_t> group,
                                                      int backlog = 128);

  SocketFile(SocketFile&&) = default;
  SocketFile& operator=(SocketFile&&) = default;
  // Unlinks the socket if the path is still the inode bound here; releases the lock.
  ~SocketFile();

  // The listening socket, now owned by the caller (libuv closes it).
  int release_listen_fd() { return listen_fd_.release(); }
  const std::string& path() const { return path_; }

 private:
  SocketFile() = default;
  void remove();

  std::string path_;
  std::string name_;  // last component, relative to dir_fd_
  UniqueFd dir_fd_;
  UniqueFd lock_fd_;
  UniqueFd listen_fd_;
  dev_t dev_ = 0;
  ino_t ino_ = 0;
  bool bound_ = false;
};

}  // namespace superd::ipc
