// The shared ends of services' output that is not a file: superd's own stdout and stderr
// as consoles (proc/console.h), the journal socket (proc/journal.h), and superd's own log,
// which goes through the stderr console too, so lines of services and of superd never
// tear each other and a console nobody reads never blocks superd's logging.
#pragma once

#include <uv.h>

#include <memory>
#include <string>

#include "proc/console.h"
#include "proc/journal.h"

namespace superd {

class LogOutputs {
 public:
  LogOutputs(uv_loop_t* loop, std::string journal_socket);
  ~LogOutputs();
  LogOutputs(const LogOutputs&) = delete;
  LogOutputs& operator=(const LogOutputs&) = delete;

  // fd 1 or 2; one Console for both when they are the same file (2>&1, a terminal).
  std::shared_ptr<Console> console(int fd);
  // Opened at first use; null (and said in superd's log) when no socket can be made.
  std::shared_ptr<JournalSocket> journal();
  // superd's log lines through the stderr console from now on.
  void route_own_log();
  // Before the loop goes: superd's log back to plain stderr, queued lines flushed
  // (bounded), the consoles' loop handles closed.
  void finish();

 private:
  uv_loop_t* loop_;
  std::string journal_path_;
  std::shared_ptr<Console> out_, err_;
  std::shared_ptr<JournalSocket> journal_;
  bool journal_tried_ = false;
  bool routed_ = false;
};

}  // namespace superd
