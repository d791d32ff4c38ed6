#include "proc/console.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace superd {
namespace {

size_t count_lines(const char* data, size_t n) {
  return static_cast<size_t>(std::count(data, data + n, '\n'));
}

}  // namespace

std::shared_ptr<Console> Console::open(uv_loop_t* loop, int fd, std::string name) {
  std::shared_ptr<Console> console(new Console(loop, fd, std::move(name)));
  console->setup();
  return console;
}

Console::Console(uv_loop_t* loop, int fd, std::string name)
    : loop_(loop), original_fd_(fd), name_(std::move(name)) {
  work_req_.data = this;
}

Console::~Console() = default;

// A description of our own, non-blocking where the kind of file allows it.
void Console::setup() {
  struct stat st {};
  if (::fstat(original_fd_, &st) < 0) return;  // closed: Kind::none drops everything
  dev_ = st.st_dev;
  ino_ = st.st_ino;
  if (S_ISREG(st.st_mode)) {
    fd_.reset(::fcntl(original_fd_, F_DUPFD_CLOEXEC, 3));
    kind_ = fd_ ? Kind::file : Kind::none;
  } else {
    open_stream(st);
  }
  // Both kinds hand pending lines to the loop with this: a file to a thread-pool job, a
  // stream to its poll. (A file without it kept every line until superd exited.)
  if (kind_ == Kind::none || !loop_) return;
  if (uv_async_init(loop_, async_.get(), &Console::on_async) == 0) {
    async_.mark_initialized();
    async_->data = this;
    uv_unref(async_.raw());
  }
}

// A pipe, terminal or socket: a description of our own, non-blocking, and a poll to
// wait on it with.
void Console::open_stream(const struct stat& st) {
  if (S_ISSOCK(st.st_mode)) {
    fd_.reset(::fcntl(original_fd_, F_DUPFD_CLOEXEC, 3));  // send(MSG_DONTWAIT) needs no flag
    is_socket_ = true;
  } else {
    const std::string self = "/proc/self/fd/" + std::to_string(original_fd_);
    fd_.reset(::open(self.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY));
    if (!fd_) {
      // No /proc: the shared description becomes non-blocking (a shell sharing the
      // terminal may notice); still better than a loop stalled on a console.
      fd_.reset(::fcntl(original_fd_, F_DUPFD_CLOEXEC, 3));
      if (fd_) ::fcntl(fd_.get(), F_SETFL, ::fcntl(fd_.get(), F_GETFL) | O_NONBLOCK);
    }
  }
  if (!fd_) return;
  kind_ = Kind::stream;
  if (!loop_) return;
  if (uv_poll_init(loop_, poll_.get(), fd_.get()) == 0) {
    poll_.mark_initialized();
    poll_->data = this;
    uv_unref(poll_.raw());
  }
}

bool Console::same_file_as(int fd) const {
  struct stat st {};
  return kind_ != Kind::none && ::fstat(fd, &st) == 0 && st.st_dev == dev_ && st.st_ino == ino_;
}

bool Console::write(std::string_view text, bool own_log) {
  std::lock_guard<std::mutex> lock(mu_);
  if (own_log && kind_ == Kind::file && !broken_) {
    while (!text.empty()) {
      ssize_t n = ::write(fd_.get(), text.data(), text.size());
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      text.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }
  return write_locked(text, {}, {});
}

bool Console::congested() {
  std::lock_guard<std::mutex> lock(mu_);
  return kind_ != Kind::none && !broken_ && pending_.size() > kMaxPending / 2;
}

bool Console::write_line(std::string_view prefix, std::string_view text) {
  std::lock_guard<std::mutex> lock(mu_);
  return write_locked(prefix, text, "\n");
}

bool Console::write_locked(std::string_view a, std::string_view b, std::string_view c) {
  const size_t size = a.size() + b.size() + c.size();
  if (kind_ == Kind::none || broken_ || pending_.size() + size > kMaxPending) {
    const size_t lines = std::max<size_t>(1, count_lines(a.data(), a.size()) + count_lines(b.data(), b.size()) +
                                                 count_lines(c.data(), c.size()));
    dropped_unreported_ += lines;
    dropped_total_ += lines;
    return false;
  }
  if (dropped_unreported_ > 0) {
    const std::string notice = "superd | " + std::to_string(dropped_unreported_) + " lines were dropped (" +
                               name_ + " was not draining)\n";
    if (pending_.size() + notice.size() + size <= kMaxPending) {
      pending_.append(notice.data(), notice.size());
      dropped_unreported_ = 0;
    }
  }
  pending_.append(a.data(), a.size());
  pending_.append(b.data(), b.size());
  pending_.append(c.data(), c.size());
  if (kind_ == Kind::stream && !blocked_) try_write_locked();
  if (pending_.size() > 0) schedule();
  return true;
}

// As much as the console takes now, without waiting.
void Console::try_write_locked() {
  size_t sent = 0;
  while (sent < pending_.size()) {
    const char* data = pending_.data() + sent;
    const size_t len = pending_.size() - sent;
    ssize_t n = is_socket_ ? ::send(fd_.get(), data, len, MSG_DONTWAIT | MSG_NOSIGNAL) : ::write(fd_.get(), data, len);
    if (n > 0) {
      sent += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      blocked_ = true;
      break;
    }
    // Nobody will ever read it (EPIPE) or it cannot be written: drop, do not retry.
    broken_ = true;
    const size_t lines = count_lines(data, len);
    dropped_unreported_ += lines;
    dropped_total_ += lines;
    sent = pending_.size();
  }
  pending_.consume(sent);
  if (pending_.size() == 0) pending_.release_memory();
}

// Called with mu_ held. The loop's handles are touched on the loop thread only.
void Console::schedule() {
  if (!loop_ || scheduled_) return;
  scheduled_ = true;
  if (async_.initialized()) uv_async_send(async_.get());
}

void Console::on_async(uv_async_t* handle) {
  auto* self = static_cast<Console*>(handle->data);
  if (!self) return;
  std::lock_guard<std::mutex> lock(self->mu_);
  self->scheduled_ = false;
  if (self->pending_.size() == 0) return;
  if (self->kind_ == Kind::stream) {
    if (!self->poll_.initialized()) return;  // cannot wait for it: next write tries again
    uv_poll_start(self->poll_.get(), UV_WRITABLE, [](uv_poll_t* h, int, int) {
      auto* c = static_cast<Console*>(h->data);
      if (!c) return;
      std::lock_guard<std::mutex> lock(c->mu_);
      c->blocked_ = false;
      c->try_write_locked();
      if (c->pending_.size() == 0 || c->broken_) uv_poll_stop(h);
    });
    return;
  }
  if (self->in_flight_) return;  // after_work schedules again
  self->writing_.swap(self->pending_);
  self->pending_.clear();
  self->in_flight_ = true;
  self->self_ = self->shared_from_this();
  if (uv_queue_work(self->loop_, &self->work_req_, &Console::work, &Console::after_work) != 0) {
    self->in_flight_ = false;
    self->self_.reset();
  }
}

// A regular file: blocking writes, off the loop.
void Console::work(uv_work_t* req) {
  auto* self = static_cast<Console*>(req->data);
  const char* data = self->writing_.data();
  size_t len = self->writing_.size();
  while (len > 0) {
    ssize_t n = ::write(self->fd_.get(), data, len);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      std::lock_guard<std::mutex> lock(self->mu_);
      const size_t lines = count_lines(data, len);
      self->dropped_unreported_ += lines;
      self->dropped_total_ += lines;
      break;
    }
    data += n;
    len -= static_cast<size_t>(n);
  }
}

void Console::after_work(uv_work_t* req, int) {
  auto* self = static_cast<Console*>(req->data);
  std::shared_ptr<Console> keep = std::move(self->self_);
  std::lock_guard<std::mutex> lock(self->mu_);
  self->in_flight_ = false;
  self->writing_.clear();
  self->writing_.release_memory();
  if (self->pending_.size() > 0) self->schedule();
}

void Console::detach_loop() {
  std::lock_guard<std::mutex> lock(mu_);
  poll_.reset();
  async_.reset();
  loop_ = nullptr;
}

void Console::flush(std::chrono::milliseconds budget) {
  const auto deadline = std::chrono::steady_clock::now() + budget;
  std::unique_lock<std::mutex> lock(mu_);
  if (kind_ == Kind::file) {
    // A job still in flight finishes on the loop; what is pending here is written now.
    while (pending_.size() > 0 && !broken_) {
      ssize_t n = ::write(fd_.get(), pending_.data(), pending_.size());
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      pending_.consume(static_cast<size_t>(n));
    }
    return;
  }
  while (kind_ == Kind::stream && pending_.size() > 0 && !broken_) {
    blocked_ = false;
    try_write_locked();
    if (pending_.size() == 0) break;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    pollfd p{fd_.get(), POLLOUT, 0};
    lock.unlock();
    ::poll(&p, 1, static_cast<int>(left.count()));
    lock.lock();
  }
}

}  // namespace superd
