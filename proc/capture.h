// The capture pipe of one output stream of a service. superd keeps both ends for the life
// of the service definition: every process of the service (and whatever its group leaves
// behind) writes into the same pipe, and the read end is always watched, so a service
// never blocks on output because of superd.
//
// Where the bytes go is the target: a log file (LogSink), or lines for the console or
// the journal (LineTarget, with a bounded in-memory tail for `superctl log`). For a file,
// the pipe has two modes (log_sink.h explains the paths):
//  - splice, when nobody needs the lines: the loop only polls; on readable it hands the
//    pipe to the sink's job, which moves the bytes into the file with splice(2), and
//    polls again once the job is done;
//  - read, when a listener (`superctl log -f`, a `log` readiness check) or timestamps
//    need the lines: the loop reads into the sink's pending buffer.
// A listener attaching waits for the job in flight to finish, then the loop reads; the
// last one leaving switches back, and the bytes already read are written before the next
// splice, so the file keeps every byte once, in order. If a job makes no progress for
// kMaxPauseMs (a hung disk), the loop takes the pipe back and drops what arrives, counted,
// until the job returns: a service never waits on a broken disk for long.
#pragma once

#include <sys/types.h>
#include <uv.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "base/byte_buffer.h"
#include "base/fd.h"
#include "base/log_time.h"
#include "base/uv_handle.h"
#include "proc/line_tail.h"
#include "proc/line_target.h"
#include "proc/log_sink.h"
#include "proc/pipe_source.h"

namespace superd {

// What one output stream goes to: a file, or lines for the console or the journal.
struct OutputTarget {
  std::shared_ptr<LogSink> file;
  std::shared_ptr<LineTarget> lines;
  std::shared_ptr<LineTail> tail;  // with `lines`: what `superctl log` shows
  bool timestamps = false;         // file: every line starts with the time superd read it
};

class OutputPipe {
 public:
  // A whole line without its newline, and the stamp it was written with ("" unless the
  // file has timestamps). Lines longer than kMaxLine arrive in pieces.
  using LineListener = std::function<void(std::string_view line, std::string_view stamp)>;
  static constexpr size_t kMaxLine = 64u << 10;

  // nullptr with *error set when the pipe cannot be made.
  static std::unique_ptr<OutputPipe> open(uv_loop_t* loop, OutputTarget target, std::string* error);
  // Re-exec: a pipe a previous superd made, both ends; `at_line_start` is where its
  // timestamps stood (whether the next byte begins a line).
  static std::unique_ptr<OutputPipe> adopt(uv_loop_t* loop, OutputTarget target, UniqueFd read_end,
                                           UniqueFd write_end, bool at_line_start, std::string* error);
  ~OutputPipe();

  int write_fd() const { return write_end_.get(); }
  int read_fd() const { return source_->fd.get(); }
  bool at_line_start() const { return at_line_start_; }
  const OutputTarget& target() const { return target_; }
  const std::shared_ptr<LogSink>& sink() const { return target_.file; }
  // The main process now writing here (the pid of journal entries).
  void set_pid(pid_t pid) { pid_ = pid; }
  int add_listener(LineListener listener);
  void remove_listener(int id);
  // Hand every listener, ids kept, to a fresh pipe of the same service.
  void move_listeners_to(OutputPipe& other);
  // Take whatever is buffered in the pipe now, without waiting (used when a pipe is
  // retired, and at shutdown): read now, or one last move by the sink's job.
  void drain();
  bool splicing() const { return mode_ == Mode::splice; }
  // Re-exec: read nothing more; what is in the pipe stays there for the next superd. A
  // console or journal line begun and not ended goes out now. The sink's job in flight
  // (and what it holds) still finishes: wait for the sink to be idle.
  void quiesce();
  void unquiesce();  // the exec did not happen: read again

 private:
  enum class Mode { read, splice, taken };
  OutputPipe(uv_loop_t* loop, OutputTarget target) : loop_(loop), target_(std::move(target)) {}
  bool wants_lines() const;
  void update_mode();
  void start_poll();
  void stop_poll();
  static void on_poll(uv_poll_t* handle, int status, int events);
  bool read_some();  // false: nothing more now
  void read_into_file(int fd, ssize_t* n);
  void read_lines(int fd, ssize_t* n);
  void request_splice();
  void on_spliced(bool at_line_start);
  void check_stall();
  void deliver(const char* data, size_t n, std::string_view stamp, UnixMicros read_at);
  void emit(std::string_view line, std::string_view stamp, UnixMicros read_at);
  void pause();
  void resume();
  bool wait_for_lines_target();
  void on_lines_wait_tick();

  uv_loop_t* loop_;
  OutputTarget target_;
  std::shared_ptr<PipeSource> source_;
  UniqueFd write_end_;
  UvHandle<uv_poll_t> poll_;
  bool polling_ = false;
  bool quiesced_ = false;  // re-exec: never polls again
  Mode mode_ = Mode::read;
  bool splice_requested_ = false;
  bool spliced_at_line_start_ = true;
  bool skip_fragment_ = false;  // listeners: the first bytes read after splicing end a line begun there
  UvHandle<uv_timer_t> pause_timer_;  // read mode: bounds how long a service may wait on the disk
  UvHandle<uv_timer_t> stall_timer_;  // splice mode: notices a job that moves nothing
  uint64_t progress_seen_ = 0;
  bool paused_ = false;
  bool dropping_ = false;  // the pause ran out: drop, do not pause, until there is room
  pid_t pid_ = 0;
  UnixMicros congested_since_ = 0;  // line target: when it began to hold the pipe back
  std::map<int, LineListener> listeners_;
  int next_listener_ = 1;
  std::string partial_line_;  // only kept while lines are needed
  std::string partial_stamp_;  // of the line partial_line_ begins
  UnixMicros partial_read_at_ = 0;
  ByteBuffer scratch_;        // reads of a line target
  bool at_line_start_ = true;  // timestamps: the next byte starts a line
  UnixMicros last_stamp_ = 0;  // stamps never go back, even if the clock does
};

}  // namespace superd
