// Child reaping for a subreaper. SIGCHLD only wakes the loop (libuv's signal pipe); the
// loop then reaps waitpid(-1, WNOHANG) until nothing is left, so orphans that were
// reparented to superd never linger as zombies, and dispatches each pid once. A pid is
// forgotten the moment it is reaped.
#pragma once

#include <sys/types.h>
#include <uv.h>

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "base/uv_handle.h"

namespace superd {

class Reaper {
 public:
  // The whole batch at once: the receiver must map every pid to its owner before acting
  // on any, since acting may fork and the kernel may hand out a just-reaped pid again.
  using Ended = std::vector<std::pair<pid_t, int>>;  // pid, wait status
  using BatchFn = std::function<void(const Ended&)>;
  Reaper(uv_loop_t* loop, BatchFn on_batch);

  // Become a child subreaper and start watching SIGCHLD; false with *error on failure.
  // `reap_at_once`: reap what already ended now (a re-exec waits until it knows whose
  // children they are, and calls reap_now() then).
  bool start(std::string* error, bool reap_at_once = true);
  void reap_now();
  // Stop keeping the loop alive; SIGCHLD is still watched.
  void unref() { uv_unref(signal_.raw()); }

 private:
  uv_loop_t* loop_;
  BatchFn on_batch_;
  UvHandle<uv_signal_t> signal_;
};

}  // namespace superd
