#include "proc/log_sink.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <new>

namespace superd {

namespace {
// Reads that do not fit anywhere land here and are dropped. One buffer for every sink:
// only the loop thread reads into it and nothing reads it back. (A 64 KiB member made
// each sink its own mmap with two pages touched: 0.8 MiB of RSS for 100 services.)
char drop_scratch[65536];
}  // namespace

// ---- ByteBuffer ----------------------------------------------------------------

ByteBuffer::~ByteBuffer() { std::free(data_); }

char* ByteBuffer::reserve(size_t n) {
  if (capacity_ - size_ < n) {
    size_t wanted = capacity_ ? capacity_ : 4096;
    while (wanted - size_ < n) wanted *= 2;
    char* grown = static_cast<char*>(std::realloc(data_, wanted));
    if (!grown) throw std::bad_alloc();
    data_ = grown;
    capacity_ = wanted;
  }
  return data_ + size_;
}

void ByteBuffer::append(const char* data, size_t n) {
  std::memcpy(reserve(n), data, n);
  size_ += n;
}

void ByteBuffer::release_memory() {
  if (size_ == 0 && capacity_ > (256u << 10)) {
    std::free(data_);
    data_ = nullptr;
    capacity_ = 0;
  }
}

void ByteBuffer::swap(ByteBuffer& other) noexcept {
  std::swap(data_, other.data_);
  std::swap(size_, other.size_);
  std::swap(capacity_, other.capacity_);
}

// ---- LogSink: loop thread ------------------------------------------------------

std::shared_ptr<LogSink> LogSink::create(uv_loop_t* loop, LogSinkOptions options) {
  return std::shared_ptr<LogSink>(new LogSink(loop, std::move(options)));
}

LogSink::LogSink(uv_loop_t* loop, LogSinkOptions options)
    : loop_(loop), options_(std::move(options)) {
  work_req_.data = this;
}

LogSink::~LogSink() {
  if (fd_ >= 0) ::close(fd_);
}

uv_buf_t LogSink::reserve(size_t suggested) {
  if (pending_.size() >= options_.max_pending) {
    return uv_buf_init(drop_scratch, sizeof drop_scratch);
  }
  return uv_buf_init(pending_.reserve(suggested), static_cast<unsigned>(suggested));
}

void LogSink::commit(const char* base, size_t n) {
  if (base == drop_scratch) {
    if (dropped_ == 0 || drop_reason_.empty()) drop_reason_ = "the disk is not keeping up";
    dropped_ += n;
  } else {
    pending_.commit(n);
  }
  kick();
}

void LogSink::append(const char* data, size_t n) {
  if (pending_.size() + n > options_.max_pending) {
    dropped_ += n;
    return;
  }
  pending_.append(data, n);
  kick();
}

void LogSink::kick() {
  if (in_flight_ || (pending_.size() == 0 && dropped_ == 0)) return;
  if (pending_.size() == 0) return;  // a notice waits for output that proves the disk works
  writing_.swap(pending_);
  pending_.clear();
  job_dropped_before_ = dropped_;
  job_drop_reason_ = drop_reason_;
  job_dropped_ = job_written_ = 0;
  job_errno_ = 0;
  job_problem_.clear();
  job_notice_written_ = false;
  in_flight_ = true;
  self_ = shared_from_this();
  if (uv_queue_work(loop_, &work_req_, &LogSink::work, &LogSink::after_work) != 0) {
    // Cannot happen with a live loop; account the bytes rather than lose them silently.
    in_flight_ = false;
    dropped_ += writing_.size();
    writing_.clear();
    self_.reset();
  }
}

void LogSink::after_work(uv_work_t* req, int /*status*/) {
  auto* sink = static_cast<LogSink*>(req->data);
  std::shared_ptr<LogSink> keep = std::move(sink->self_);
  sink->in_flight_ = false;
  sink->written_ += sink->job_written_;
  if (sink->job_notice_written_) sink->dropped_ -= sink->job_dropped_before_;
  sink->write_failing_ = sink->job_dropped_ > 0;
  if (sink->job_dropped_ > 0) {
    sink->dropped_ += sink->job_dropped_;
    sink->drop_reason_ = !sink->job_problem_.empty()
                             ? sink->job_problem_
                             : std::string("writing ") + sink->options_.path + ": " +
                                   std::strerror(sink->job_errno_);
  }
  sink->writing_.clear();
  // Big buffers are kept while output flows (no realloc and fresh pages per job) and
  // given back once the service is quiet.
  if (sink->pending_.size() == 0) {
    sink->writing_.release_memory();
    sink->pending_.release_memory();
  }
  sink->kick();
  if (sink->on_room_ && !sink->full()) sink->on_room_();
  if (sink->on_idle_ && sink->idle()) sink->on_idle_();
}

// ---- LogSink: worker thread ----------------------------------------------------

void LogSink::work(uv_work_t* req) {
  auto* sink = static_cast<LogSink*>(req->data);
  if (!sink->ensure_open()) {
    sink->job_dropped_ = sink->writing_.size();
    return;
  }
  if (sink->job_dropped_before_ > 0) {
    std::string notice = sink->at_line_start_ ? "" : "\n";
    notice += "superd: " + std::to_string(sink->job_dropped_before_) +
              " bytes of output were dropped (" + sink->job_drop_reason_ + ")\n";
    // A notice that cannot be written is not the service's output: it must not add to
    // the count it reports (each failed try on a full disk used to).
    const uint64_t dropped_before_notice = sink->job_dropped_;
    if (sink->write_all(notice.data(), notice.size())) {
      sink->job_notice_written_ = true;
      sink->line_len_ = 0;
    } else {
      sink->job_dropped_ = dropped_before_notice;
    }
  }
  if (sink->job_errno_ == 0) {
    sink->write_chunk(sink->writing_.data(), sink->writing_.size());
  } else {
    sink->job_dropped_ += sink->writing_.size();
  }
}

std::optional<PathProblem> LogSink::check(const std::string& path, const PathTrust& trust) {
  auto [dir_path, name] = split_path(path);
  auto dir = open_safe_dir(dir_path, trust, Missing::create, 0750);
  if (auto* problem = std::get_if<PathProblem>(&dir)) return *problem;
  auto file = open_safe_file(std::get<SafeDir>(dir), name, trust,
                             {O_WRONLY | O_APPEND | O_CREAT, 0640, 0});
  if (auto* problem = std::get_if<PathProblem>(&file)) return *problem;
  return std::nullopt;
}

bool LogSink::ensure_open() {
  if (fd_ >= 0) return true;
  // The directory is walked again at every open: what was checked last time may have
  // been chmod'ed, chown'ed or replaced since.
  auto [dir_path, name] = split_path(options_.path);
  auto dir = open_safe_dir(dir_path, options_.trust, Missing::create, 0750);
  if (auto* problem = std::get_if<PathProblem>(&dir)) {
    dir_ = SafeDir();
    job_problem_ = problem->explain("log file", options_.path, "superd writes root-owned files there");
    job_errno_ = EACCES;
    return false;
  }
  dir_ = std::move(std::get<SafeDir>(dir));
  auto file = open_safe_file(dir_, name, options_.trust, {O_WRONLY | O_APPEND | O_CREAT, 0640, 0});
  if (auto* problem = std::get_if<PathProblem>(&file)) {
    job_problem_ = problem->explain("log file", options_.path, "superd writes root-owned files there");
    job_errno_ = EACCES;
    return false;
  }
  fd_ = std::get<UniqueFd>(file).release();
  struct stat st {};
  size_ = ::fstat(fd_, &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
  at_line_start_ = true;
  line_len_ = 0;
  return true;
}

// Writes everything or records how much was lost; false when something was lost.
bool LogSink::write_all(const char* data, size_t len) {
  while (len > 0) {
    ssize_t n = ::write(fd_, data, len);
    if (n < 0) {
      if (errno == EINTR) continue;
      job_errno_ = errno;
      job_dropped_ += len;
      return false;
    }
    size_ += static_cast<uint64_t>(n);
    job_written_ += static_cast<uint64_t>(n);
    at_line_start_ = data[n - 1] == '\n';
    data += n;
    len -= static_cast<size_t>(n);
  }
  return true;
}

// Append a chunk: lines longer than kMaxLogLine split, files rotated at line ends (see
// the header for the bound this keeps).
void LogSink::write_chunk(const char* data, size_t len) {
  const uint64_t max = options_.max_bytes;
  while (len > 0) {
    const uint64_t room = max == 0 ? UINT64_MAX : (size_ < max ? max - size_ : 0);
    const size_t limit = static_cast<size_t>(std::min<uint64_t>(len, room));
    // Whole lines from here that fit in the room, none over the cap: each window ends
    // where the current line would have to be split.
    size_t whole = 0;
    size_t line = line_len_;
    while (whole < limit) {
      const size_t window = std::min(limit - whole, kMaxLogLine + 1 - line);
      const void* nl = ::memrchr(data + whole, '\n', window);
      if (!nl) break;
      whole = static_cast<size_t>(static_cast<const char*>(nl) - data) + 1;
      line = 0;
    }
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
    // The next line does not end within the room, or reaches the cap first.
    const size_t to_cap = kMaxLogLine - line_len_;
    const void* nl = ::memchr(data, '\n', std::min(len, to_cap + 1));
    size_t n;          // bytes of data to write
    bool split;        // then a newline of superd's
    uint64_t needs;    // the room the rest of this line needs
    if (nl) {
      n = static_cast<size_t>(static_cast<const char*>(nl) - data) + 1;
      split = false;
      needs = n;
    } else if (len >= to_cap) {
      n = to_cap;
      split = true;
      needs = n + 1;
    } else {
      n = len;  // the line goes on in a later chunk: assume the longest
      split = false;
      needs = kMaxLogLine + 1 - line_len_;
    }
    if (line_len_ == 0 && size_ > 0 && needs > room) {
      rotate();
      if (fd_ < 0) {
        job_dropped_ += len;
        return;
      }
      continue;
    }
    if (!write_all(data, n) || (split && !write_all("\n", 1))) {
      job_dropped_ += len - n;
      return;
    }
    line_len_ = (nl || split) ? 0 : line_len_ + n;
    data += n;
    len -= n;
  }
}

void LogSink::rotate() {
  ::close(fd_);
  fd_ = -1;
  const std::string name = split_path(options_.path).second;
  // Relative to the directory the file was opened in: renames never follow a symlink,
  // and nobody but root can put one there.
  if (dir_) {
    const int dir = dir_.fd();
    if (options_.backups > 0) {
      for (int i = options_.backups - 1; i >= 1; --i) {
        ::renameat(dir, (name + "." + std::to_string(i)).c_str(), dir,
                   (name + "." + std::to_string(i + 1)).c_str());
      }
      ::renameat(dir, name.c_str(), dir, (name + ".1").c_str());
    } else {
      ::unlinkat(dir, name.c_str(), 0);
    }
  }
  ensure_open();
}

}  // namespace superd
