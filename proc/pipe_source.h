// The read end of a capture pipe (non-blocking), shared by the event loop, which polls
// it and reads it whenever lines are needed, and the file sink's jobs on the thread pool,
// which splice from it. Exactly one side takes bytes out at any moment: a job holds `mu`
// around each move out of the pipe and stays off while `loop_reads` is set. The loop
// sets it (under `mu`, held by a job only for a move between two pipes in memory) to take
// the pipe back from a job that a hung disk holds. The fd lives as long as its last user,
// so a pipe retired while a job drains it is not closed under the job.
#pragma once

#include <mutex>
#include <utility>

#include "base/fd.h"

namespace superd {

struct PipeSource {
  explicit PipeSource(UniqueFd f) : fd(std::move(f)) {}
  UniqueFd fd;
  std::mutex mu;
  bool loop_reads = false;  // guarded by mu
};

}  // namespace superd
