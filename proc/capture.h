// The capture pipe of one output stream of a service. superd keeps both ends for the life
// of the service definition: every process of the service (and whatever its group leaves
// behind) writes into the same pipe, and the read end is always being read, so a service
// never blocks on output because of superd. Data goes to the LogSink; whole lines also go
// to listeners (`superctl log -f`, the `log` readiness check).
#pragma once

#include <uv.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "base/fd.h"
#include "proc/log_sink.h"
#include "base/uv_handle.h"

namespace superd {

class OutputPipe {
 public:
  using LineListener = std::function<void(std::string_view line)>;

  // nullptr with *error set when the pipe cannot be made.
  static std::unique_ptr<OutputPipe> open(uv_loop_t* loop, std::shared_ptr<LogSink> sink,
                                          std::string* error);
  ~OutputPipe();

  int write_fd() const { return write_end_.get(); }
  const std::shared_ptr<LogSink>& sink() const { return sink_; }
  int add_listener(LineListener listener);
  void remove_listener(int id);
  // Hand every listener, ids kept, to a fresh pipe of the same service.
  void move_listeners_to(OutputPipe& other);
  // Read whatever is buffered in the pipe now, without waiting (used at shutdown).
  void drain();

 private:
  OutputPipe(std::shared_ptr<LogSink> sink) : sink_(std::move(sink)) {}
  static void on_alloc(uv_handle_t* handle, size_t suggested, uv_buf_t* buf);
  static void on_read(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf);
  void deliver(const char* data, size_t n);
  void pause();
  void resume();

  std::shared_ptr<LogSink> sink_;
  UvHandle<uv_pipe_t> read_end_;
  UniqueFd write_end_;
  UvHandle<uv_timer_t> pause_timer_;  // bounds how long a service may wait on the disk
  bool paused_ = false;
  bool dropping_ = false;  // the pause ran out: drop, do not pause, until there is room
  std::map<int, LineListener> listeners_;
  int next_listener_ = 1;
  std::string partial_line_;  // only kept while someone listens
};

}  // namespace superd
