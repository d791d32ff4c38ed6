// A service's NOTIFY_SOCKET (`ready = "notify"`): a datagram socket superd owns, where
// the service sends READY=1, STATUS=..., MAINPID=... as systemd's sd_notify does
// (gunicorn's arbiter sends READY=1 itself). The sender's pid comes from the kernel
// (SCM_CREDENTIALS), so the daemon can accept messages only from the service's own
// processes.
#pragma once

#include <sys/types.h>
#include <uv.h>

#include <functional>
#include <memory>
#include <string>

#include "base/fd.h"
#include "base/uv_handle.h"

namespace superd {

class NotifySocket {
 public:
  using MessageFn = std::function<void(pid_t sender, const std::string& text)>;
  // nullptr with *error set on failure.
  static std::unique_ptr<NotifySocket> open(uv_loop_t* loop, const std::string& path,
                                            MessageFn on_message, std::string* error);
  ~NotifySocket();
  const std::string& path() const { return path_; }

 private:
  NotifySocket() = default;
  void on_readable();

  std::string path_;
  UniqueFd fd_;
  UvHandle<uv_poll_t> poll_;
  MessageFn on_message_;
};

// The session id of a process (from /proc/PID/stat), 0 when it cannot be read. Every
// process of a service shares the session its main process opened with setsid().
pid_t session_of(pid_t pid);

}  // namespace superd
