#include "proc/capture.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace superd {
namespace {
constexpr size_t kReadSize = 256u << 10;      // fewer wakeups for chatty services
constexpr size_t kMaxPartialLine = 64u << 10;  // longer lines reach listeners in pieces
// A service waits on a slow (but working) disk at most this long at a time; after that
// its output is dropped and counted until the disk catches up.
constexpr uint64_t kMaxPauseMs = 2000;
}  // namespace

std::unique_ptr<OutputPipe> OutputPipe::open(uv_loop_t* loop, std::shared_ptr<LogSink> sink,
                                             std::string* error) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) < 0) {
    *error = std::string("pipe: ") + std::strerror(errno);
    return nullptr;
  }
  std::unique_ptr<OutputPipe> pipe(new OutputPipe(sink));
  UniqueFd read_end(fds[0]);
  pipe->write_end_.reset(fds[1]);
  // A larger pipe absorbs bursts; failing to grow it is harmless.
  ::fcntl(fds[0], F_SETPIPE_SZ, 1 << 20);

  if (int rc = uv_pipe_init(loop, pipe->read_end_.get(), 0); rc != 0) {
    *error = std::string("uv_pipe_init: ") + uv_strerror(rc);
    return nullptr;
  }
  pipe->read_end_.mark_initialized();
  if (int rc = uv_pipe_open(pipe->read_end_.get(), read_end.get()); rc != 0) {
    *error = std::string("uv_pipe_open: ") + uv_strerror(rc);
    return nullptr;
  }
  read_end.release();  // the uv handle owns it now
  pipe->read_end_->data = pipe.get();
  uv_timer_init(loop, pipe->pause_timer_.get());
  pipe->pause_timer_.mark_initialized();
  pipe->pause_timer_->data = pipe.get();
  OutputPipe* raw = pipe.get();
  pipe->sink_->set_on_room(raw, [raw] {
    raw->dropping_ = false;
    if (raw->paused_) raw->resume();
  });
  uv_read_start(reinterpret_cast<uv_stream_t*>(pipe->read_end_.get()), &OutputPipe::on_alloc,
                &OutputPipe::on_read);
  return pipe;
}

// UvHandle closes the read end and the timer, UniqueFd the write end.
OutputPipe::~OutputPipe() { sink_->release_on_room(this); }

void OutputPipe::on_alloc(uv_handle_t* handle, size_t, uv_buf_t* buf) {
  auto* self = static_cast<OutputPipe*>(handle->data);
  *buf = self ? self->sink_->reserve(kReadSize) : uv_buf_init(nullptr, 0);
}

void OutputPipe::on_read(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) {
  auto* self = static_cast<OutputPipe*>(stream->data);
  if (!self) return;
  if (nread > 0) {
    self->sink_->commit(buf->base, static_cast<size_t>(nread));
    if (!self->listeners_.empty()) self->deliver(buf->base, static_cast<size_t>(nread));
    if (self->sink_->full() && !self->sink_->write_failing() && !self->dropping_) self->pause();
  } else if (nread < 0) {
    // EOF cannot happen while we hold the write end; any other error ends this stream.
    uv_read_stop(stream);
  }
}

void OutputPipe::deliver(const char* data, size_t n) {
  const char* end = data + n;
  while (data < end) {
    const char* nl = static_cast<const char*>(std::memchr(data, '\n', end - data));
    if (!nl) {
      partial_line_.append(data, end - data);
      if (partial_line_.size() >= kMaxPartialLine) {
        for (auto& [id, fn] : listeners_) fn(partial_line_);
        partial_line_.clear();
      }
      return;
    }
    std::string_view line;
    if (partial_line_.empty()) {
      line = std::string_view(data, nl - data);
    } else {
      partial_line_.append(data, nl - data);
      line = partial_line_;
    }
    // Copy: a listener may remove itself (or others) while we iterate.
    auto listeners = listeners_;
    for (auto& [id, fn] : listeners) fn(line);
    partial_line_.clear();
    data = nl + 1;
  }
}

void OutputPipe::pause() {
  paused_ = true;
  uv_read_stop(reinterpret_cast<uv_stream_t*>(read_end_.get()));
  uv_timer_start(
      pause_timer_.get(),
      [](uv_timer_t* t) {
        auto* self = static_cast<OutputPipe*>(t->data);
        if (!self) return;
        self->dropping_ = true;  // the disk is too slow for too long: stop making the service wait
        self->resume();
      },
      kMaxPauseMs, 0);
}

void OutputPipe::resume() {
  paused_ = false;
  uv_timer_stop(pause_timer_.get());
  uv_read_start(reinterpret_cast<uv_stream_t*>(read_end_.get()), &OutputPipe::on_alloc,
                &OutputPipe::on_read);
}

int OutputPipe::add_listener(LineListener listener) {
  int id = next_listener_++;
  listeners_.emplace(id, std::move(listener));
  return id;
}

void OutputPipe::remove_listener(int id) {
  listeners_.erase(id);
  if (listeners_.empty()) partial_line_.clear();
}

void OutputPipe::move_listeners_to(OutputPipe& other) {
  other.listeners_ = std::move(listeners_);
  other.next_listener_ = next_listener_;
  listeners_.clear();
  partial_line_.clear();
}

void OutputPipe::drain() {
  int fd = -1;
  if (uv_fileno(read_end_.raw(), &fd) != 0) return;
  for (int i = 0; i < 4096; ++i) {  // bounded: at most a pipe's worth, in practice
    uv_buf_t buf = sink_->reserve(kReadSize);
    ssize_t n = ::read(fd, buf.base, buf.len);
    if (n <= 0) {
      sink_->commit(buf.base, 0);
      return;
    }
    sink_->commit(buf.base, static_cast<size_t>(n));
    if (!listeners_.empty()) deliver(buf.base, static_cast<size_t>(n));
  }
}

}  // namespace superd
