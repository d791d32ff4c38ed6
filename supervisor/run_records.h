// What superd keeps in state_dir about its own run: the lock that makes it the only
// superd on that state_dir, and running.json, the main processes it runs, so that the
// next superd can find what a killed one left behind (proc/leftovers.h).
//
// Both live in the checked state_dir (safe_path.h): running.json names pids a new superd
// signals as root, so it is believed only as superd's own regular file in a directory
// nobody else can write.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "base/fd.h"
#include "base/safe_path.h"

namespace superd {

struct RunningRecord {
  std::string service;
  // The process superd started: its pid is the process group and session id (setsid).
  // A main process MAINPID= named later is of that session; the record stays this one.
  pid_t pid = 0;
  uint64_t start_time = 0;  // clock ticks since boot, /proc/PID/stat field 22
};

// state_dir/running.json: one record per main process (a service has two during a
// start-new-first restart). Written with rename, so a reader sees the old or the new
// file, never half of one (a failed write leaves the old file and no temp file).
bool save_running(const SafeDir& state_dir, const PathTrust& trust,
                  const std::vector<RunningRecord>& records, std::string* error);
// The well-formed records of the file; none when it is missing or not superd's own
// (*warning says so). A file that is there but not a JSON array, or has malformed
// records, is read as far as it goes and *warning says what was wrong (a damaged file
// may hide leftovers that cannot be stopped).
std::vector<RunningRecord> load_running(const SafeDir& state_dir, const PathTrust& trust,
                                        std::string* warning);

// state_dir/superd.lock, held (flock) for the life of the daemon, with its pid inside.
class StateLock {
 public:
  // false with *error ("another superd (pid 12) is running with state_dir ...").
  bool acquire(const SafeDir& state_dir, const PathTrust& trust, std::string* error);
  // Re-exec: the lock this process already holds, through the descriptor it kept.
  void adopt(UniqueFd fd) { fd_ = std::move(fd); }
  int fd() const { return fd_.get(); }

 private:
  UniqueFd fd_;
};

}  // namespace superd
