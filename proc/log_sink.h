// A service's log file: its output is appended here, and the file is rotated by size
// (NAME.log -> NAME.log.1 -> ... -> NAME.log.BACKUPS), or closed and opened again by name
// on request (`superctl reopen-logs`, SIGUSR1: an external logrotate with `create`).
//
// The event loop never touches the disk: one job at a time on libuv's thread pool
// writes. Bytes reach the file by one of two paths:
//  - read: the loop reads the capture pipe into a pending buffer (when lines are needed:
//    a `log -f` follower, a `log` readiness check, timestamps) and the job writes it;
//  - splice: the job moves bytes from the capture pipe into the file with splice(2),
//    so they are copied once, by the kernel, and never enter superd (see splice()).
// While the disk works but is slower than the service, the service waits on its pipe as
// it would with `| cat > file`, and no line is lost, for at most a bounded time (see
// capture.cc); when writing fails (disk full, EIO) or that time runs out, output is
// dropped and counted instead, so a service never blocks on a broken disk, and once
// writing works again the file says how many bytes went missing. Every cut (rotation,
// reopen) happens at a line end, so no line is torn across two files: near a cut the
// job reads instead of splicing, to see where lines end.
//
// The file is root's: its directory is walked and checked as safe_path.h says (again at
// every open, so a directory chmod'ed or swapped since is noticed), the file is opened
// relative to it with O_NOFOLLOW and must be a regular file with one link that superd
// owns, and rotation renames relative to the directory's descriptor (log_file.cc). A
// symlink, a FIFO or a hard link where the log file should be is never written through:
// the output is dropped and counted, with the reason.
//
// A line longer than kMaxLogLine is split where it is read (the read path, and near a
// cut): a newline goes in after each kMaxLogLine bytes, so a line without end still
// rotates, and no file grows past max_bytes + kMaxLogLine. Bytes spliced far from a cut
// are not looked at, so a long line there stays whole.
#pragma once

#include <sys/types.h>
#include <uv.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/byte_buffer.h"
#include "base/fd.h"
#include "base/safe_path.h"
#include "proc/pipe_source.h"

namespace superd {

inline constexpr size_t kMaxLogLine = 64u << 10;

struct LogSinkOptions {
  std::string path;
  uint64_t max_bytes = 50ull * 1000 * 1000;  // 0: never rotate
  int backups = 5;
  size_t max_pending = 16u << 20;  // output buffered while the disk is behind
  bool stamp_notices = false;      // superd's own notes start with a time (log_timestamps)
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

  // The read path: reads go straight into the pending buffer: reserve room, read,
  // commit. A reservation made while the buffer is full is a scratch area whose bytes
  // are dropped and counted.
  uv_buf_t reserve(size_t suggested);
  void commit(const char* base, size_t n);
  void append(const char* data, size_t n);  // superd's own notes, stamped lines, tests
  // Bytes with a time at the start of every line (log_timestamps); *at_line_start
  // carries over between calls of one stream.
  void append_stamped(const char* data, size_t n, const char* stamp, bool* at_line_start);
  // Bytes the loop could not keep (it read them to keep a service from waiting).
  void count_dropped(uint64_t bytes, const std::string& reason);

  // The splice path: the next job moves whatever `source` holds into the file, then
  // `done` runs on the loop, told whether the file now ends at a line end. A source with
  // no owner (a pipe being retired) is drained once, without a callback.
  using SpliceDone = std::function<void(bool at_line_start)>;
  void splice_from(std::shared_ptr<PipeSource> source, const void* owner, SpliceDone done);
  void forget_owner(const void* owner);  // its callbacks go; a queued move still happens
  // Bytes the jobs have moved so far: a job in flight that moves none for long is stuck.
  uint64_t progress() const { return progress_.load(std::memory_order_relaxed); }
  bool job_in_flight() const { return in_flight_; }

  // Close the file and open it again by path, at the next line end.
  void reopen();

  const std::string& path() const { return options_.path; }
  const PathTrust& trust() const { return options_.trust; }
  // The last open of path() was refused (a link, a FIFO, an unsafe directory) or failed;
  // false once an open succeeds again. While it is false, whoever would check the path
  // may rely on the sink's own check at its next open.
  bool open_failed() const { return open_failed_; }
  // Bytes lost and not yet reported in the file.
  uint64_t dropped_unreported() const { return dropped_; }
  uint64_t bytes_written() const { return written_; }
  bool idle() const { return !in_flight_ && pending_.size() == 0 && splices_.empty(); }
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
  struct Splice {
    std::shared_ptr<PipeSource> source;
    const void* owner;
    SpliceDone done;
  };

  LogSink(uv_loop_t* loop, LogSinkOptions options);
  void kick();
  static void work(uv_work_t* req);
  static void after_work(uv_work_t* req, int status);
  void finish_job();

  // Worker side (log_sink_worker.cc): only the single in-flight job runs these.
  void run_job();
  bool ensure_open();
  bool write_all(const char* data, size_t len);
  void write_chunk(const char* data, size_t len);
  uint64_t room() const;
  void cut();
  void learn_line_start();
  void pump(PipeSource& source);
  void read_source(PipeSource& source, bool keep);
  bool drain_relay(size_t n);
  void discard(int fd, size_t n);
  bool set_append(bool on);

  uv_loop_t* loop_;
  LogSinkOptions options_;

  // Loop-thread state.
  ByteBuffer pending_;
  std::vector<Splice> splices_;  // for the next job
  bool reopen_wanted_ = false;
  bool in_flight_ = false;
  uint64_t dropped_ = 0;  // lost since the last notice
  std::string drop_reason_;
  uint64_t written_ = 0;
  std::function<void()> on_idle_;
  std::function<void()> on_room_;
  const void* room_owner_ = nullptr;
  bool write_failing_ = false;
  std::atomic<uint64_t> progress_{0};

  // Job state: handed over with the job, read back in after_work.
  uv_work_t work_req_{};
  std::shared_ptr<LogSink> self_;  // keeps the sink alive while a job runs
  ByteBuffer writing_;
  std::vector<Splice> job_splices_;
  std::vector<Splice> finishing_;  // the last job's, while their callbacks run
  bool job_reopen_ = false;
  uint64_t job_dropped_before_ = 0;
  std::string job_drop_reason_;
  uint64_t job_dropped_ = 0;
  uint64_t job_written_ = 0;
  int job_errno_ = 0;
  std::string job_problem_;  // why the file could not be opened (safe_path.h's words)
  bool job_notice_written_ = false;
  bool job_at_line_start_ = true;
  bool job_open_failed_ = false;
  bool open_failed_ = false;  // loop side, from the last job

  // Worker-owned file state (only one job runs at a time).
  SafeDir dir_;  // the file's directory, checked at the last open
  UniqueFd fd_;
  bool last_open_failed_ = false;
  bool appending_ = true;  // O_APPEND is set (write(2)); splice(2) needs it off
  uint64_t size_ = 0;
  bool at_line_start_ = true;
  size_t line_len_ = 0;  // bytes of the unfinished last line in the file (0 when unknown)
  bool line_start_known_ = true;  // false after a splice, until looked up
  bool reopen_pending_ = false;   // cut at the next line end and open the path again
  UniqueFd relay_read_, relay_write_;  // this job's pipe between the service's and the file
  ByteBuffer scratch_;
};

}  // namespace superd
