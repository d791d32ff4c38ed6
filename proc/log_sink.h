// A service's log file: output read from its capture pipe is appended here, and the file
// is rotated by size (NAME.log -> NAME.log.1 -> ... -> NAME.log.BACKUPS).
//
// The event loop never touches the disk for output: reads land in a pending buffer and
// one job at a time on libuv's thread pool writes it out, so a slow or full disk cannot
// stall the loop. While the disk works but is slower than the service, the capture pipe
// pauses (the service waits on its pipe as it would with `| cat > file`, and no line is
// lost) for at most a bounded time (see capture.cc); when writing fails (disk full, EIO)
// or the pause runs out, output is dropped and counted instead, so a service never
// blocks on a broken disk, and once writing works again the file says how many bytes
// went missing. Rotation happens only at a line end, so no line is torn across files.
//
// The file is root's: its directory is walked and checked as safe_path.h says (again at
// every open, so a directory chmod'ed or swapped since is noticed), the file is opened
// relative to it with O_NOFOLLOW|O_NONBLOCK and must be a regular file with one link
// that superd owns, and rotation renames relative to the directory's descriptor. A
// symlink, a FIFO or a hard link where the log file should be is never written through:
// the output is dropped and counted, with the reason.
//
// A line longer than kMaxLogLine is split: a newline goes in after each kMaxLogLine
// bytes, so a line without end still rotates. A file rotates before a line that would
// not fit in it; when the end of the next line is not known yet (it has not been
// written), before it unless a whole kMaxLogLine fits. So no file grows past
// max_bytes, except by the one line that opens a file when max_bytes is below
// kMaxLogLine, and the notice of dropped output.
#pragma once

#include <sys/types.h>
#include <uv.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "base/safe_path.h"

namespace superd {

inline constexpr size_t kMaxLogLine = 64u << 10;

// A growable byte buffer that does not zero what it reserves (reads fill it).
class ByteBuffer {
 public:
  ByteBuffer() = default;
  ~ByteBuffer();
  ByteBuffer(const ByteBuffer&) = delete;
  ByteBuffer& operator=(const ByteBuffer&) = delete;
  char* reserve(size_t n);  // room for n more bytes after size()
  void commit(size_t n) { size_ += n; }
  void append(const char* data, size_t n);
  void clear() { size_ = 0; }
  void release_memory();  // give back a large allocation once drained
  const char* data() const { return data_; }
  size_t size() const { return size_; }
  size_t capacity() const { return capacity_; }
  void swap(ByteBuffer& other) noexcept;

 private:
  char* data_ = nullptr;
  size_t size_ = 0;
  size_t capacity_ = 0;
};

struct LogSinkOptions {
  std::string path;
  uint64_t max_bytes = 50ull * 1000 * 1000;  // 0: never rotate
  int backups = 5;
  size_t max_pending = 16u << 20;  // output buffered while the disk is behind
  PathTrust trust;                 // allow_group_writable; the owners are root's
};

class LogSink : public std::enable_shared_from_this<LogSink> {
 public:
  static std::shared_ptr<LogSink> create(uv_loop_t* loop, LogSinkOptions options);
  ~LogSink();

  // Whether the file at `path` can be opened (and is made if missing, its directory
  // too) by the rules above; called before a spawn, so a service whose log cannot be
  // written is told why instead of starting with its output dropped.
  static std::optional<PathProblem> check(const std::string& path, const PathTrust& trust);

  // Reads go straight into the pending buffer: reserve room, read, commit.
  uv_buf_t reserve(size_t suggested);
  void commit(const char* base, size_t n);
  void append(const char* data, size_t n);  // superd's own notes, tests

  const std::string& path() const { return options_.path; }
  // Bytes lost and not yet reported in the file.
  uint64_t dropped_unreported() const { return dropped_; }
  uint64_t bytes_written() const { return written_; }
  bool idle() const { return !in_flight_ && pending_.size() == 0; }
  // The pending buffer is full: more output now would be dropped.
  bool full() const { return pending_.size() >= options_.max_pending; }
  // The last write failed (disk full, EIO): pausing the service would not help.
  bool write_failing() const { return write_failing_; }
  // Called on the loop thread when a write job has made room again.
  // One pipe at a time owns it (a restart may hand the sink to a fresh pipe).
  void set_on_room(const void* owner, std::function<void()> fn) {
    room_owner_ = owner;
    on_room_ = std::move(fn);
  }
  void release_on_room(const void* owner) {
    if (room_owner_ == owner) on_room_ = nullptr, room_owner_ = nullptr;
  }
  // Called on the loop thread each time a write job finishes (tests, shutdown).
  void set_on_idle(std::function<void()> fn) { on_idle_ = std::move(fn); }

 private:
  LogSink(uv_loop_t* loop, LogSinkOptions options);
  void kick();
  static void work(uv_work_t* req);
  static void after_work(uv_work_t* req, int status);
  // Worker side: only the single in-flight job runs these.
  void write_chunk(const char* data, size_t len);
  bool write_all(const char* data, size_t len);
  void rotate();
  bool ensure_open();

  uv_loop_t* loop_;
  LogSinkOptions options_;

  // Loop-thread state.
  ByteBuffer pending_;
  bool in_flight_ = false;
  uint64_t dropped_ = 0;  // lost since the last notice
  std::string drop_reason_;
  uint64_t written_ = 0;
  std::function<void()> on_idle_;
  std::function<void()> on_room_;
  const void* room_owner_ = nullptr;
  bool write_failing_ = false;

  // Job state: handed over with the job, read back in after_work.
  uv_work_t work_req_{};
  std::shared_ptr<LogSink> self_;  // keeps the sink alive while a job runs
  ByteBuffer writing_;
  uint64_t job_dropped_before_ = 0;
  std::string job_drop_reason_;
  uint64_t job_dropped_ = 0;
  uint64_t job_written_ = 0;
  int job_errno_ = 0;
  std::string job_problem_;  // why the file could not be opened (safe_path.h's words)
  bool job_notice_written_ = false;

  // Worker-owned file state (only one job runs at a time).
  SafeDir dir_;  // the file's directory, checked at the last open
  int fd_ = -1;
  uint64_t size_ = 0;
  bool at_line_start_ = true;
  size_t line_len_ = 0;  // bytes of the unfinished last line in the file
};

}  // namespace superd
