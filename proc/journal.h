// journald's native protocol (systemd's "Native Journal Protocol"): one datagram per
// entry, each field a KEY=VALUE line, sent to journald's socket (by default
// /run/systemd/journal/socket; `[supervisor] journal_socket` elsewhere, as tests listen
// on one of their own). Sends never block: when journald is absent or its queue is full
// the line is dropped and counted, as on a full disk.
//
// A line may open with a syslog level as systemd reads it on a service's stdout stream:
// "<3>disk failing" is an entry of PRIORITY=3 with MESSAGE=disk failing. Without one,
// stdout lines are 6 (info) and stderr lines 3 (err).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "base/fd.h"
#include "proc/line_target.h"

namespace superd {

// The level of a "<N>" prefix (N 0..7, written as systemd accepts it: one to three
// digits) and the line without it; the default and the line unchanged otherwise.
int strip_level_prefix(std::string_view* line, int default_priority);

// One entry as a datagram. MESSAGE is sent in the binary form when it holds a newline.
std::string journal_entry(std::string_view message, std::string_view identifier, pid_t pid, int priority);

// The one socket superd sends every journal line through.
class JournalSocket {
 public:
  // Told when sends start failing (the reason) and when they work again (the count lost
  // in between), for superd's own log; never once per line.
  using Trouble = std::function<void(const std::string& what)>;
  static std::shared_ptr<JournalSocket> open(std::string path, Trouble trouble, std::string* error);

  // false when the entry was not taken (the caller counts it).
  bool send(const std::string& datagram);
  const std::string& path() const { return path_; }
  uint64_t dropped() const { return dropped_; }

 private:
  JournalSocket(UniqueFd fd, std::string path, Trouble trouble);
  UniqueFd fd_;
  std::string path_;
  Trouble trouble_;
  uint64_t dropped_ = 0;
  uint64_t dropped_in_episode_ = 0;
  int failing_errno_ = 0;
};

// One output stream of a service into the journal.
class JournalLines : public LineTarget {
 public:
  JournalLines(std::shared_ptr<JournalSocket> socket, std::string identifier, int default_priority)
      : socket_(std::move(socket)), identifier_(std::move(identifier)), default_priority_(default_priority) {}
  void line(std::string_view text, pid_t pid) override;
  uint64_t dropped_lines() const override { return dropped_; }
  std::string describe() const override;
  bool is_journal() const override { return true; }

 private:
  std::shared_ptr<JournalSocket> socket_;
  std::string identifier_;
  int default_priority_;
  uint64_t dropped_ = 0;
};

}  // namespace superd
