// What a previous superd left running when it died (kill -9, a crash, OOM).
//
// superd records, for each service it runs, the main pid, its process group and the
// process's start time (field 22 of /proc/PID/stat, so a pid the kernel has since reused
// is never mistaken for ours). A new superd on the same state_dir reads the record and
// stops every live leftover group before it starts anything.
//
// Why stop rather than re-adopt: the leftovers lost everything superd gave them. Their
// stdout/stderr pipes have no reader any more, so their next log line gets EPIPE or
// kills them with SIGPIPE; they are not our children, so their exit could not be
// waited for in the usual way; a held listen socket or notify socket died with the old
// daemon. A clean stop (each service's stop_signal and stop_mode, stop_timeout, then
// KILL to the group) and a fresh start give a known state and never two copies of a
// service; the cost is one restart of each service after a crash of superd.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace superd {

struct RunningRecord {
  std::string service;
  pid_t pid = 0;            // main pid == process group id (setsid)
  uint64_t start_time = 0;  // clock ticks since boot, /proc/PID/stat field 22
};

// The start time of a live process; nullopt when it does not exist (or is a zombie).
std::optional<uint64_t> process_start_time(pid_t pid);

// state_dir/running.json: one record per main process (a service has two during a
// start-new-first restart). Written with rename, so a reader sees the old or the new
// file, never half of one (a failed write leaves the old file and no temp file).
bool save_running(const std::string& path, const std::vector<RunningRecord>& records,
                  std::string* error);
// The well-formed records of the file; none when it is missing. A file that is there but
// not a JSON array, or has malformed records, is read as far as it goes and *problem
// says what was wrong (a damaged file may hide leftovers that cannot be stopped).
std::vector<RunningRecord> load_running(const std::string& path, std::string* problem = nullptr);

struct Leftover {
  RunningRecord record;
  int stop_signal;
  bool signal_group_first;  // stop_mode = group
  std::chrono::milliseconds stop_timeout;
};

// Stops every leftover group (all of them at once, so the wait is the longest timeout,
// not the sum) and returns one line per group saying how it ended. Waits with pidfds:
// the leftovers are not our children.
std::vector<std::string> stop_leftovers(const std::vector<Leftover>& leftovers);

}  // namespace superd
