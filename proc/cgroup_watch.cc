#include "proc/cgroup_watch.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "proc/cgroup_file.h"

namespace superd {

bool CgroupWatch::start(uv_loop_t* loop, const std::string& dir, Fn on_change, std::string* error) {
  stop();
  dir_ = dir;
  on_change_ = std::move(on_change);
  const std::string path = cgroup_file_path(dir, "cgroup.events");
  events_fd_.reset(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!events_fd_) {
    *error = "cgroup: open " + path + ": " + std::strerror(errno);
    return false;
  }
  handle_ = UvHandle<uv_fs_event_t>();
  if (int rc = uv_fs_event_init(loop, handle_.get()); rc < 0) {
    *error = "cgroup: watching " + path + ": " + uv_strerror(rc);
    return false;
  }
  handle_.mark_initialized();
  handle_->data = this;
  if (int rc = uv_fs_event_start(handle_.get(), &CgroupWatch::on_event, path.c_str(), 0); rc < 0) {
    *error = "cgroup: watching " + path + ": " + uv_strerror(rc);
    handle_.reset();
    return false;
  }
  // Read after the watch is in place, so a change in between is not missed.
  read_now();
  return true;
}

void CgroupWatch::stop() {
  handle_.reset();
  events_fd_.reset();
  on_change_ = nullptr;
}

bool CgroupWatch::read_now() {
  if (!events_fd_) return populated_;
  char buf[256];
  ssize_t n;
  do {
    n = ::pread(events_fd_.get(), buf, sizeof buf - 1, 0);
  } while (n < 0 && errno == EINTR);
  if (n > 0) {
    buf[n] = '\0';
    if (auto v = keyed_value(std::string_view(buf, static_cast<size_t>(n)), "populated")) {
      populated_ = *v != 0;
    }
  } else if (n < 0 && errno == ENODEV) {
    populated_ = false;  // the leaf was removed: nothing can be in it
  }
  return populated_;
}

bool CgroupWatch::populated(bool refresh) { return refresh ? read_now() : populated_; }

void CgroupWatch::on_event(uv_fs_event_t* handle, const char*, int, int) {
  auto* self = static_cast<CgroupWatch*>(handle->data);
  if (!self) return;
  const bool now = self->read_now();
  if (self->on_change_) {
    // The callback may destroy this watch: call a copy.
    Fn fn = self->on_change_;
    fn(now);
  }
}

}  // namespace superd
