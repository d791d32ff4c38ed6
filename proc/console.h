// superd's own stdout or stderr as a container's console: every console service's lines
// (`stdout = "console"`: "app | line") and superd's own log go through one Console per
// file, so lines are never interleaved mid-line, and a console that does not drain (a
// `docker logs` pipe nobody reads) never stalls a service, the loop or superd's log:
// lines wait in a bounded buffer, and when it is full they are dropped and counted, as
// on a full disk; once the console drains again a line says how many went missing.
//
// Writes are non-blocking, on a file description of superd's own (opened again through
// /proc/self/fd, so O_NONBLOCK does not leak to whoever shares the original, such as a
// shell on the same terminal): from the thread that adds a line when nothing is queued,
// else once the console is writable (a poll on the loop). A regular file cannot be
// non-blocking; its writes go to the thread pool, one job at a time.
#pragma once

#include <uv.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "base/byte_buffer.h"
#include "base/fd.h"
#include "base/uv_handle.h"
#include "proc/line_target.h"

namespace superd {

class Console : public std::enable_shared_from_this<Console> {
 public:
  static constexpr size_t kMaxPending = 1u << 20;

  // A console on `fd` (1 or 2, which stay open and unchanged). Never null: if superd's
  // fd cannot be written at all, lines are dropped and counted.
  static std::shared_ptr<Console> open(uv_loop_t* loop, int fd, std::string name);
  ~Console();

  // Whole text (one or more complete lines) or nothing: false when it was dropped. Any
  // thread. `own_log`: superd's own lines, which on a regular file are written at once
  // (as any program's stderr), not queued for the thread pool.
  bool write(std::string_view text, bool own_log = false);
  bool write_line(std::string_view prefix, std::string_view text);
  uint64_t dropped_lines() const { return dropped_total_.load(); }
  // Half the bound is queued: readers of services' pipes wait before reading more.
  bool congested();
  const std::string& name() const { return name_; }  // "stdout", "stderr"
  // The same file as fd (2>&1, or one terminal for both): one Console serves both.
  bool same_file_as(int fd) const;
  // Before exit: what is queued, waiting at most `budget` for the console to drain.
  void flush(std::chrono::milliseconds budget);
  // Stop using the loop (its handles go); later writes are attempted directly or dropped.
  void detach_loop();

 private:
  enum class Kind { stream, file, none };
  Console(uv_loop_t* loop, int fd, std::string name);
  void setup();
  void open_stream(const struct stat& st);
  bool write_locked(std::string_view a, std::string_view b, std::string_view c);
  void try_write_locked();
  void schedule();  // on the loop: poll for writability, or a job for a file
  static void on_async(uv_async_t* handle);
  static void work(uv_work_t* req);
  static void after_work(uv_work_t* req, int status);

  uv_loop_t* loop_;
  int original_fd_;
  std::string name_;
  Kind kind_ = Kind::none;
  UniqueFd fd_;
  bool is_socket_ = false;
  dev_t dev_ = 0;
  ino_t ino_ = 0;

  std::mutex mu_;  // everything below
  ByteBuffer pending_;
  uint64_t dropped_unreported_ = 0;
  std::atomic<uint64_t> dropped_total_{0};
  bool blocked_ = false;  // the last write would have blocked: wait for writability
  bool scheduled_ = false;
  bool in_flight_ = false;  // a file job
  bool broken_ = false;     // EPIPE and the like: drop everything from now on
  ByteBuffer writing_;      // a file job's bytes
  UvHandle<uv_async_t> async_;
  UvHandle<uv_poll_t> poll_;
  uv_work_t work_req_{};
  std::shared_ptr<Console> self_;  // alive while a job runs
};

// One output stream of a console service: each line prefixed "NAME | ".
class ConsoleLines : public LineTarget {
 public:
  ConsoleLines(std::shared_ptr<Console> console, std::string name)
      : console_(std::move(console)), name_(std::move(name)), prefix_(name_ + " | ") {}
  void line(std::string_view text, pid_t) override {
    if (!console_->write_line(prefix_, text)) ++dropped_;
  }
  uint64_t dropped_lines() const override { return dropped_; }
  bool congested() const override { return console_->congested(); }
  std::string describe() const override {
    return "superd's " + console_->name() + ", each line prefixed '" + prefix_ + "'";
  }

 private:
  std::shared_ptr<Console> console_;
  std::string name_;
  std::string prefix_;
  uint64_t dropped_ = 0;
};

}  // namespace superd
