// "Gone means empty": a leaf's cgroup.events says "populated 0" once no process is left
// in it (main process, double-forked daemons, everything). The kernel signals every
// change of that file to inotify; the loop watches it through uv_fs_event (libuv's one
// inotify descriptor per loop), so an idle superd is never woken by a timer.
#pragma once

#include <uv.h>

#include <functional>
#include <memory>
#include <string>

#include "base/fd.h"
#include "base/uv_handle.h"

namespace superd {

class CgroupWatch {
 public:
  using Fn = std::function<void(bool populated)>;

  // Watches DIR/cgroup.events; `on_change` runs on the loop each time the file changes,
  // with "populated" as it is then (not for the state at start: ask populated()). False
  // with *error.
  bool start(uv_loop_t* loop, const std::string& dir, Fn on_change, std::string* error);
  void stop();
  // As of the last event (or the start); re-read when `refresh`.
  bool populated(bool refresh = false);
  const std::string& dir() const { return dir_; }

 private:
  static void on_event(uv_fs_event_t* handle, const char* filename, int events, int status);
  bool read_now();

  std::string dir_;
  UniqueFd events_fd_;
  UvHandle<uv_fs_event_t> handle_;
  Fn on_change_;
  bool populated_ = false;
};

}  // namespace superd
