// What one job of the file sink does, on libuv's thread pool: open the file if need be,
// report dropped bytes, write the pending buffer, then move what each capture pipe holds
// into the file. Only one job of a sink runs at a time, so the file state needs no lock.
//
// The move is two splices per round, through a relay pipe of the job's own: the service's
// pipe into the relay (page references moved in memory, under the source's lock), then
// the relay into the file. The kernel holds a pipe's lock while it writes a splice out to
// a file; with the relay, a slow disk holds only the relay's, never the lock the service
// writes under, so the loop can still take the service's pipe back (capture.cc) when the
// disk hangs. Near a cut the relay is read instead, so cuts land at line ends.
#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>

#include "base/log_time.h"
#include "proc/log_file.h"
#include "proc/log_sink.h"

namespace superd {
namespace {

constexpr size_t kRelayBytes = 1u << 20;
// Closer than this to a cut (rotation at max_bytes), bytes are read, not spliced, to see
// where lines end. A line longer than this that straddles max_bytes is finished in the
// file it started in, as on the read path.
constexpr uint64_t kCutMargin = 256u << 10;
constexpr size_t kReadChunk = 256u << 10;
// A job ends after this much, or this long, so the loop regains the pipe now and then
// (a follower attaching, a reopen, shutdown).
constexpr uint64_t kJobBudget = 64u << 20;
constexpr auto kJobMaxTime = std::chrono::milliseconds(200);
// A move this large means a fast writer: wait this long for more before ending the job,
// since another job costs more than the wait.
constexpr size_t kBusyMove = 256u << 10;
constexpr int kBusyWaitMs = 2;

}  // namespace

void LogSink::run_job() {
  if (job_reopen_) reopen_pending_ = true;
  if (!ensure_open()) {
    job_dropped_ += writing_.size();
    for (auto& s : job_splices_) read_source(*s.source, /*keep=*/false);
    job_at_line_start_ = true;
    job_open_failed_ = true;
    return;
  }
  // Someone may have truncated the file (as an operator frees space): append at its end.
  struct stat st {};
  if (::fstat(fd_.get(), &st) == 0 && static_cast<uint64_t>(st.st_size) != size_) {
    size_ = static_cast<uint64_t>(st.st_size);
    line_start_known_ = false;
  }
  if (job_dropped_before_ > 0) {
    learn_line_start();
    std::string notice = at_line_start_ ? "" : "\n";
    if (options_.stamp_notices) notice += format_stamp(unix_micros_now()) + " ";
    notice += "superd: " + std::to_string(job_dropped_before_) + " bytes of output were dropped (" +
              job_drop_reason_ + ")\n";
    // A notice that cannot be written is not the service's output: it must not add to
    // the count it reports (each failed try on a full disk used to).
    const uint64_t dropped_before_notice = job_dropped_;
    if (write_all(notice.data(), notice.size())) {
      job_notice_written_ = true;
      line_len_ = 0;
    } else {
      job_dropped_ = dropped_before_notice;
    }
  }
  if (job_errno_ == 0) {
    write_chunk(writing_.data(), writing_.size());
  } else {
    job_dropped_ += writing_.size();
  }
  for (auto& s : job_splices_) pump(*s.source);
  relay_read_.reset();
  relay_write_.reset();
  if (reopen_pending_ && fd_) {
    learn_line_start();
    if (at_line_start_) cut();  // else at the end of the line now being written
  }
  learn_line_start();
  job_at_line_start_ = at_line_start_;
  job_open_failed_ = last_open_failed_;
}

bool LogSink::ensure_open() {
  if (fd_) return true;
  auto file = open_log_file(options_.path, options_.trust, &dir_);
  if (auto* problem = std::get_if<PathProblem>(&file)) {
    job_problem_ = problem->explain("log file", options_.path, "superd writes root-owned files there");
    job_errno_ = EACCES;
    last_open_failed_ = true;
    return false;
  }
  last_open_failed_ = false;
  fd_ = std::move(std::get<UniqueFd>(file));
  appending_ = true;
  struct stat st {};
  size_ = ::fstat(fd_.get(), &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
  line_start_known_ = false;
  line_len_ = 0;
  return true;
}

// The file ends at a line end? Read back its last byte when a splice left it unknown.
void LogSink::learn_line_start() {
  if (line_start_known_) return;
  line_start_known_ = true;
  char last = '\n';
  at_line_start_ = size_ == 0 || !fd_ ||
                   ::pread(fd_.get(), &last, 1, static_cast<off_t>(size_ - 1)) != 1 || last == '\n';
}

bool LogSink::set_append(bool on) {
  if (appending_ == on) return true;
  const int flags = ::fcntl(fd_.get(), F_GETFL);
  if (flags < 0 || ::fcntl(fd_.get(), F_SETFL, on ? flags | O_APPEND : flags & ~O_APPEND) < 0) {
    return false;
  }
  appending_ = on;
  return true;
}

// Writes everything or records how much was lost; false when something was lost.
bool LogSink::write_all(const char* data, size_t len) {
  if (!set_append(true)) {
    job_errno_ = errno;
    job_dropped_ += len;
    return false;
  }
  learn_line_start();
  while (len > 0) {
    ssize_t n = ::write(fd_.get(), data, len);
    if (n < 0) {
      if (errno == EINTR) continue;
      job_errno_ = errno;
      job_dropped_ += len;
      return false;
    }
    size_ += static_cast<uint64_t>(n);
    job_written_ += static_cast<uint64_t>(n);
    progress_.fetch_add(static_cast<uint64_t>(n), std::memory_order_relaxed);
    at_line_start_ = data[n - 1] == '\n';
    data += n;
    len -= static_cast<size_t>(n);
  }
  return true;
}

// How much may still go into this file before a cut: none while a reopen waits.
uint64_t LogSink::room() const {
  if (reopen_pending_) return 0;
  const uint64_t max = options_.max_bytes;
  if (max == 0) return UINT64_MAX;
  return size_ < max ? max - size_ : 0;
}

namespace {

// The bytes of data (at most limit) that are whole lines, none longer than kMaxLogLine
// counting the line_len bytes of the current line already in the file: each window ends
// where the current line would have to be split.
size_t whole_lines(const char* data, size_t limit, size_t line_len) {
  size_t whole = 0;
  size_t line = line_len;
  while (whole < limit) {
    const size_t window = std::min(limit - whole, kMaxLogLine + 1 - line);
    const void* nl = ::memrchr(data + whole, '\n', window);
    if (!nl) break;
    whole = static_cast<size_t>(static_cast<const char*>(nl) - data) + 1;
    line = 0;
  }
  return whole;
}

// The next piece of a line that does not end within the room, or reaches the cap first.
struct Piece {
  size_t n;        // bytes of data to write
  bool split;      // then a newline of superd's
  bool ends;       // the line ends with it (its newline, or superd's)
  uint64_t needs;  // the room the rest of this line needs
};

Piece next_piece(const char* data, size_t len, size_t line_len) {
  const size_t to_cap = kMaxLogLine - std::min(line_len, kMaxLogLine);
  const void* nl = ::memchr(data, '\n', std::min(len, to_cap + 1));
  if (nl) {
    const size_t n = static_cast<size_t>(static_cast<const char*>(nl) - data) + 1;
    return {n, false, true, n};
  }
  if (len >= to_cap) return {to_cap, true, true, to_cap + 1};
  // The line goes on in a later chunk: assume the longest.
  return {len, false, false, kMaxLogLine + 1 - line_len};
}

}  // namespace

// Append a chunk: lines longer than kMaxLogLine split, files cut at line ends (see the
// header for the bound this keeps).
void LogSink::write_chunk(const char* data, size_t len) {
  learn_line_start();
  if (at_line_start_) line_len_ = 0;
  while (len > 0) {
    const uint64_t r = room();
    const size_t whole = whole_lines(data, static_cast<size_t>(std::min<uint64_t>(len, r)), line_len_);
    if (whole > 0) {
      if (!write_all(data, whole)) {
        job_dropped_ += len - whole;
        return;
      }
      line_len_ = 0;
      data += whole;
      len -= whole;
      continue;
    }
    const Piece p = next_piece(data, len, line_len_);
    if (at_line_start_ && (size_ > 0 || reopen_pending_) && p.needs > r) {
      cut();
      if (!fd_) {
        job_dropped_ += len;
        return;
      }
      continue;
    }
    if ((p.n > 0 && !write_all(data, p.n)) || (p.split && !write_all("\n", 1))) {
      job_dropped_ += len - p.n;
      return;
    }
    line_len_ = p.ends ? 0 : line_len_ + p.n;
    data += p.n;
    len -= p.n;
  }
}

// A rotation (the backups shift and a fresh file starts), or a reopen by path.
void LogSink::cut() {
  fd_.reset();
  if (reopen_pending_) {
    reopen_pending_ = false;
  } else {
    shift_log_backups(dir_, split_path(options_.path).second, options_.backups);
  }
  ensure_open();
}

// Takes up to n bytes out of fd and drops them (counted): a service must not wait on a
// file that cannot be written.
void LogSink::discard(int fd, size_t n) {
  char* buf = scratch_.reserve(kReadChunk);
  while (n > 0) {
    ssize_t k = ::read(fd, buf, std::min(n, kReadChunk));
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) return;
    job_dropped_ += static_cast<uint64_t>(k);
    n -= static_cast<size_t>(k);
  }
}

// Reads the service's pipe itself, without a relay: into the file (keep), or dropped.
void LogSink::read_source(PipeSource& source, bool keep) {
  char* buf = scratch_.reserve(kReadChunk);
  for (uint64_t total = 0; total < kJobBudget;) {
    ssize_t k;
    {
      std::lock_guard<std::mutex> lock(source.mu);
      if (source.loop_reads) return;
      k = ::read(source.fd.get(), buf, kReadChunk);
    }
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) return;
    total += static_cast<uint64_t>(k);
    if (keep && job_errno_ == 0 && fd_) {
      write_chunk(buf, static_cast<size_t>(k));
    } else {
      job_dropped_ += static_cast<uint64_t>(k);
    }
  }
}

// Moves what the service's pipe holds into the file, until it is empty (after a short
// wait when the writer is fast), the job's budget or time is spent, or the loop takes the
// pipe back.
void LogSink::pump(PipeSource& source) {
  if (!relay_read_) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC | O_NONBLOCK) < 0) return read_source(source, /*keep=*/true);
    relay_read_.reset(fds[0]);
    relay_write_.reset(fds[1]);
    ::fcntl(fds[1], F_SETPIPE_SZ, static_cast<int>(kRelayBytes));  // smaller is slower, not wrong
  }
  const auto deadline = std::chrono::steady_clock::now() + kJobMaxTime;
  uint64_t moved_total = 0;
  while (moved_total < kJobBudget) {
    ssize_t moved;
    {
      std::lock_guard<std::mutex> lock(source.mu);
      if (source.loop_reads) return;
      moved = ::splice(source.fd.get(), nullptr, relay_write_.get(), nullptr, kRelayBytes,
                       SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
    }
    if (moved > 0) {
      moved_total += static_cast<uint64_t>(moved);
      if (!drain_relay(static_cast<size_t>(moved))) return;
      if (std::chrono::steady_clock::now() >= deadline) return;
      continue;
    }
    if (moved < 0 && errno == EINTR) continue;
    if (moved < 0 && errno == EAGAIN && std::chrono::steady_clock::now() < deadline) {
      pollfd p{source.fd.get(), POLLIN, 0};
      if (moved_total >= kBusyMove && ::poll(&p, 1, kBusyWaitMs) > 0) continue;
    }
    return;  // empty (or every writer gone)
  }
}

// Empties the relay (n bytes) into the file: spliced far from a cut, read and written
// near one. False when the relay could not be emptied.
bool LogSink::drain_relay(size_t n) {
  while (n > 0) {
    if (job_errno_ != 0 || !fd_) {
      const uint64_t before = job_dropped_;
      discard(relay_read_.get(), n);
      if (job_dropped_ - before < n) return false;
      return true;
    }
    const uint64_t r = room();
    if (r > kCutMargin) {
      if (!set_append(false)) {
        job_errno_ = errno;
        continue;
      }
      off_t at = static_cast<off_t>(size_);
      const size_t len = static_cast<size_t>(std::min<uint64_t>(n, r - kCutMargin));
      ssize_t k = ::splice(relay_read_.get(), nullptr, fd_.get(), &at, len, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
      if (k > 0) {
        size_ += static_cast<uint64_t>(k);
        job_written_ += static_cast<uint64_t>(k);
        progress_.fetch_add(static_cast<uint64_t>(k), std::memory_order_relaxed);
        n -= static_cast<size_t>(k);
        line_start_known_ = false;
        line_len_ = 0;  // not looked at: a long line here is not split
        continue;
      }
      if (k < 0 && errno == EINTR) continue;
      job_errno_ = k < 0 ? errno : EIO;
      continue;  // what the relay holds is dropped above
    }
    char* buf = scratch_.reserve(kReadChunk);
    ssize_t k = ::read(relay_read_.get(), buf, std::min(n, kReadChunk));
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) return false;
    write_chunk(buf, static_cast<size_t>(k));
    n -= static_cast<size_t>(k);
  }
  return true;
}

}  // namespace superd
