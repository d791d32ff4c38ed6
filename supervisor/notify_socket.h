// A service's NOTIFY_SOCKET (`ready = "notify"`): a datagram socket superd owns, where
// the service sends READY=1, STATUS=..., MAINPID=... as systemd's sd_notify does
// (gunicorn's arbiter sends READY=1 itself). The sender's pid comes from the kernel
// (SCM_CREDENTIALS), so the daemon can accept messages only from the service's own
// processes.
//
// The socket lives in the checked notify directory (base/safe_path.h) and is made
// root:GROUP 0660, GROUP being the service's: its processes may send, other local users
// may not even connect. It is bound, chowned and chmod'ed relative to the directory's
// descriptor, through a descriptor of the new inode.
#pragma once

#include <sys/types.h>
#include <uv.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "base/fd.h"
#include "base/safe_path.h"
#include "base/uv_handle.h"

namespace superd {

class NotifySocket {
 public:
  using MessageFn = std::function<void(pid_t sender, const std::string& text)>;
  // `dir` is the checked notify directory; the socket is DIR/NAME. nullptr with *error
  // set on failure. `inherited`: the socket a previous superd bound there (re-exec).
  static std::unique_ptr<NotifySocket> open(uv_loop_t* loop, const SafeDir& dir,
                                            const std::string& name, gid_t group,
                                            MessageFn on_message, std::string* error,
                                            UniqueFd inherited = {});
  ~NotifySocket();
  const std::string& path() const { return path_; }
  int fd() const { return fd_.get(); }

  // Messages from processes that are not the service's are ignored; saying so each time
  // would let any of them flood superd's log. The first is worth a warning, then one per
  // kForeignWarningEvery at most: the number held back since the last warning, or
  // nullopt when this one should stay quiet. No timer: a quiet socket costs nothing.
  static constexpr std::chrono::seconds kForeignWarningEvery{10};
  std::optional<uint64_t> foreign_warning_due();

 private:
  NotifySocket() = default;
  bool bind_new(const SafeDir& dir, gid_t group, std::string* error);
  void on_readable();

  std::string path_;
  std::string name_;
  UniqueFd dir_fd_;  // the notify directory, to unlink the socket relative to it
  dev_t dev_ = 0;
  ino_t ino_ = 0;
  UniqueFd fd_;
  UvHandle<uv_poll_t> poll_;
  MessageFn on_message_;
  std::optional<std::chrono::steady_clock::time_point> last_warning_;
  uint64_t held_back_ = 0;
};

// The session id of a process (from /proc/PID/stat), 0 when it cannot be read. Every
// process of a service shares the session its main process opened with setsid().
pid_t session_of(pid_t pid);

}  // namespace superd
