// The capture pipe's life and modes (capture.h); capture_read.cc is what a read does.
#include "proc/capture.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace superd {
namespace {
// A service waits on a slow (but working) disk at most this long at a time; after that
// its output is dropped and counted until the disk catches up.
constexpr uint64_t kMaxPauseMs = 2000;
// How often a pipe held back by a console that is behind looks again.
constexpr uint64_t kLinesWaitMs = 5;
}  // namespace

std::unique_ptr<OutputPipe> OutputPipe::open(uv_loop_t* loop, OutputTarget target, std::string* error) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) < 0) {
    *error = std::string("pipe: ") + std::strerror(errno);
    return nullptr;
  }
  ::fcntl(fds[0], F_SETFL, ::fcntl(fds[0], F_GETFL) | O_NONBLOCK);
  // A larger pipe absorbs bursts (and is what a splice moves at once); failing to grow
  // it is harmless.
  ::fcntl(fds[0], F_SETPIPE_SZ, 1 << 20);
  return adopt(loop, std::move(target), UniqueFd(fds[0]), UniqueFd(fds[1]), true, error);
}

std::unique_ptr<OutputPipe> OutputPipe::adopt(uv_loop_t* loop, OutputTarget target, UniqueFd read_end,
                                              UniqueFd write_end, bool at_line_start, std::string* error) {
  const int read_fd = read_end.get();
  std::unique_ptr<OutputPipe> pipe(new OutputPipe(loop, std::move(target)));
  pipe->source_ = std::make_shared<PipeSource>(std::move(read_end));
  pipe->write_end_ = std::move(write_end);
  pipe->at_line_start_ = at_line_start;

  if (int rc = uv_poll_init(loop, pipe->poll_.get(), read_fd); rc != 0) {
    *error = std::string("uv_poll_init: ") + uv_strerror(rc);
    return nullptr;
  }
  pipe->poll_.mark_initialized();
  pipe->poll_->data = pipe.get();
  for (auto* t : {&pipe->pause_timer_, &pipe->stall_timer_}) {
    uv_timer_init(loop, t->get());
    t->mark_initialized();
    (*t)->data = pipe.get();
  }
  OutputPipe* raw = pipe.get();
  if (pipe->target_.file) {
    pipe->target_.file->set_on_room(raw, [raw] {
      raw->dropping_ = false;
      if (raw->paused_) raw->resume();
    });
  }
  pipe->mode_ = pipe->wants_lines() ? Mode::read : Mode::splice;
  pipe->start_poll();
  return pipe;
}

// UvHandle closes the poll and the timers, UniqueFd the write end; the read end goes with
// the last holder of the source (a job may still be draining it).
OutputPipe::~OutputPipe() {
  if (target_.file) target_.file->forget_owner(this);
}

bool OutputPipe::wants_lines() const {
  return !target_.file || target_.timestamps || !listeners_.empty();
}

// Read when lines are needed, splice when not; never while a job holds the pipe.
void OutputPipe::update_mode() {
  if (mode_ == Mode::taken || splice_requested_) return;  // on_spliced decides
  const Mode wanted = wants_lines() ? Mode::read : Mode::splice;
  if (wanted == mode_) return;
  if (wanted == Mode::read) {
    skip_fragment_ = !spliced_at_line_start_;
  } else {
    partial_line_.clear();
    if (paused_) resume();
  }
  mode_ = wanted;
  if (!paused_) start_poll();
}

void OutputPipe::start_poll() {
  if (polling_ || quiesced_) return;
  if (uv_poll_start(poll_.get(), UV_READABLE | UV_DISCONNECT, &OutputPipe::on_poll) == 0) polling_ = true;
}

void OutputPipe::stop_poll() {
  if (!polling_) return;
  uv_poll_stop(poll_.get());
  polling_ = false;
}

void OutputPipe::on_poll(uv_poll_t* handle, int status, int) {
  auto* self = static_cast<OutputPipe*>(handle->data);
  if (!self) return;
  if (status < 0) {
    self->stop_poll();  // EBADF and the like: this stream ends
    return;
  }
  if (self->mode_ == Mode::splice) {
    self->request_splice();
  } else {
    self->read_some();
  }
}

// The job takes the pipe; the loop stops watching it until the job is done.
void OutputPipe::request_splice() {
  stop_poll();
  if (splice_requested_) return;
  splice_requested_ = true;
  progress_seen_ = target_.file->progress();
  uv_timer_start(stall_timer_.get(), [](uv_timer_t* t) {
    if (auto* self = static_cast<OutputPipe*>(t->data)) self->check_stall();
  }, kMaxPauseMs, kMaxPauseMs);
  target_.file->splice_from(source_, this, [this](bool at_line_start) { on_spliced(at_line_start); });
}

void OutputPipe::on_spliced(bool at_line_start) {
  splice_requested_ = false;
  uv_timer_stop(stall_timer_.get());
  spliced_at_line_start_ = at_line_start;
  if (mode_ == Mode::taken) {
    std::lock_guard<std::mutex> lock(source_->mu);
    source_->loop_reads = false;
    mode_ = Mode::splice;
  }
  update_mode();
  if (!paused_) start_poll();
}

// A job that has moved nothing for kMaxPauseMs holds the pipe on a hung disk: take the
// pipe back and drop what the service writes (counted) until the job returns.
void OutputPipe::check_stall() {
  const uint64_t now = target_.file->progress();
  if (now != progress_seen_ || !splice_requested_) {
    progress_seen_ = now;
    return;
  }
  uv_timer_stop(stall_timer_.get());
  {
    std::lock_guard<std::mutex> lock(source_->mu);  // held by a job only for a move in memory
    source_->loop_reads = true;
  }
  mode_ = Mode::taken;
  start_poll();
}

void OutputPipe::pause() {
  paused_ = true;
  stop_poll();
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
  if (!splice_requested_) start_poll();
}

// A console behind: stop reading (the service waits on its pipe, as on a slow disk) and
// look again every kLinesWaitMs; after kMaxPauseMs of it, read on and let the target drop
// (counted) until it catches up. True: do not read now.
bool OutputPipe::wait_for_lines_target() {
  if (!target_.lines->congested()) {
    congested_since_ = 0;
    dropping_ = false;
    return false;
  }
  if (dropping_) return false;
  if (congested_since_ == 0) congested_since_ = unix_micros_now();
  if (unix_micros_now() - congested_since_ > static_cast<UnixMicros>(kMaxPauseMs) * 1000) {
    dropping_ = true;
    return false;
  }
  paused_ = true;
  stop_poll();
  uv_timer_start(stall_timer_.get(), [](uv_timer_t* t) {
    if (auto* self = static_cast<OutputPipe*>(t->data)) self->on_lines_wait_tick();
  }, kLinesWaitMs, 0);
  return true;
}

void OutputPipe::on_lines_wait_tick() {
  paused_ = false;
  start_poll();  // the next readable event decides again
}

int OutputPipe::add_listener(LineListener listener) {
  int id = next_listener_++;
  listeners_.emplace(id, std::move(listener));
  update_mode();
  return id;
}

void OutputPipe::remove_listener(int id) {
  listeners_.erase(id);
  if (listeners_.empty() && target_.file) partial_line_.clear();
  update_mode();
}

void OutputPipe::move_listeners_to(OutputPipe& other) {
  other.listeners_ = std::move(listeners_);
  other.next_listener_ = next_listener_;
  listeners_.clear();
  if (target_.file) partial_line_.clear();
  other.update_mode();
  update_mode();
}

void OutputPipe::quiesce() {
  stop_poll();
  quiesced_ = true;
  if (!target_.file && !partial_line_.empty()) {
    // A console or journal line cut short: what was read goes out now, as a line.
    std::string rest = std::move(partial_line_);
    partial_line_.clear();
    emit(rest, partial_stamp_, partial_read_at_);
  }
}

void OutputPipe::unquiesce() {
  quiesced_ = false;
  if (!paused_ && !splice_requested_) start_poll();
}

void OutputPipe::drain() {
  if (mode_ == Mode::splice) {
    // One more move by the sink's job, which keeps the read end open until it is done.
    target_.file->splice_from(source_, nullptr, nullptr);
    return;
  }
  for (int i = 0; i < 4096 && read_some(); ++i) {  // bounded: at most a pipe's worth, in practice
  }
}

}  // namespace superd
