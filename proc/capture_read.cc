// What a read of a capture pipe does (the loop reads only when lines are needed, see
// capture.h): bytes into the file's pending buffer, stamped or not, or lines to the
// console or the journal; and whole lines to the listeners.
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "proc/capture.h"

namespace superd {
namespace {
constexpr size_t kReadSize = 256u << 10;  // fewer wakeups for chatty services
}  // namespace

// One read; false when there is nothing more now (or the stream ended).
bool OutputPipe::read_some() {
  const int fd = source_->fd.get();
  ssize_t n = 0;
  if (mode_ == Mode::taken) {
    char* buf = scratch_.reserve(kReadSize);
    n = ::read(fd, buf, kReadSize);
    if (n > 0) target_.file->count_dropped(static_cast<uint64_t>(n), "a write to the disk has not returned for seconds");
  } else if (target_.file) {
    read_into_file(fd, &n);
  } else {
    read_lines(fd, &n);
  }
  if (n > 0) return true;
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return false;
  stop_poll();  // every writer is gone (cannot happen while we hold the write end), or an error
  return false;
}

void OutputPipe::read_into_file(int fd, ssize_t* n) {
  LogSink& sink = *target_.file;
  if (!target_.timestamps) {
    uv_buf_t buf = sink.reserve(kReadSize);
    *n = ::read(fd, buf.base, buf.len);
    sink.commit(buf.base, *n > 0 ? static_cast<size_t>(*n) : 0);
    if (*n > 0 && !listeners_.empty()) deliver(buf.base, static_cast<size_t>(*n), {}, 0);
  } else {
    char* buf = scratch_.reserve(kReadSize);
    *n = ::read(fd, buf, kReadSize);
    if (*n > 0) {
      // One time per read: every line that arrived in it was read at that moment.
      const UnixMicros t = std::max(unix_micros_now(), last_stamp_);
      last_stamp_ = t;
      char stamp[kStampBytes];
      format_stamp(t, stamp);
      sink.append_stamped(buf, static_cast<size_t>(*n), stamp, &at_line_start_);
      if (!listeners_.empty()) deliver(buf, static_cast<size_t>(*n), std::string_view(stamp, kStampBytes), t);
    }
  }
  if (sink.full() && !sink.write_failing() && !dropping_) pause();
}

void OutputPipe::read_lines(int fd, ssize_t* n) {
  if (wait_for_lines_target()) {
    *n = -1;
    errno = EAGAIN;
    return;
  }
  char* buf = scratch_.reserve(kReadSize);
  *n = ::read(fd, buf, kReadSize);
  if (*n > 0) deliver(buf, static_cast<size_t>(*n), {}, unix_micros_now());
  if (partial_line_.empty()) scratch_.release_memory();
}

void OutputPipe::deliver(const char* data, size_t n, std::string_view stamp, UnixMicros read_at) {
  const char* end = data + n;
  if (skip_fragment_) {
    // The start of this line went to the file by splice, unseen: listeners get whole lines only.
    const char* nl = static_cast<const char*>(std::memchr(data, '\n', n));
    if (!nl) return;
    skip_fragment_ = false;
    data = nl + 1;
  }
  while (data < end) {
    const char* nl = static_cast<const char*>(std::memchr(data, '\n', end - data));
    if (!nl) {
      if (partial_line_.empty()) partial_stamp_.assign(stamp), partial_read_at_ = read_at;
      partial_line_.append(data, end - data);
      if (partial_line_.size() >= kMaxLine) {
        emit(partial_line_, partial_stamp_, partial_read_at_);
        partial_line_.clear();
      }
      return;
    }
    if (partial_line_.empty()) {
      emit(std::string_view(data, nl - data), stamp, read_at);
    } else {
      partial_line_.append(data, nl - data);
      emit(partial_line_, partial_stamp_, partial_read_at_);
      partial_line_.clear();
    }
    data = nl + 1;
  }
}

void OutputPipe::emit(std::string_view line, std::string_view stamp, UnixMicros read_at) {
  if (target_.lines) {
    target_.lines->line(line, pid_);
    if (target_.tail) target_.tail->push(read_at, line);
  }
  if (listeners_.empty()) return;
  // Copy: a listener may remove itself (or others) while we iterate.
  auto listeners = listeners_;
  for (auto& [id, fn] : listeners) fn(line, stamp);
}

}  // namespace superd
