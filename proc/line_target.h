// Where the lines of an output stream go when they do not go to a file: the console
// (console.h) or the journal (journal.h). The capture pipe (capture.h) cuts the stream
// into lines (at most kMaxLine bytes each: a longer one arrives in pieces) and hands
// each over without its newline. A target never blocks: what it cannot take now it
// drops and counts.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <string_view>

namespace superd {

class LineTarget {
 public:
  virtual ~LineTarget() = default;
  // `pid`: the service's main process when the line was read (0 when none).
  virtual void line(std::string_view text, pid_t pid) = 0;
  virtual uint64_t dropped_lines() const = 0;
  // For `superctl log`: where the lines went ("the journal (SYSLOG_IDENTIFIER=app)").
  virtual std::string describe() const = 0;
  virtual bool is_journal() const { return false; }
  // Lines now would soon be dropped (a console behind): the pipe waits a bounded time
  // before reading more, as a service waits on a slow disk.
  virtual bool congested() const { return false; }
};

}  // namespace superd
