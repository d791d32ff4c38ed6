#include "proc/reaper.h"

#include <sys/prctl.h>
#include <sys/wait.h>

#include <cerrno>
#include <cstring>
#include <utility>
#include <vector>

namespace superd {

Reaper::Reaper(uv_loop_t* loop, BatchFn on_batch) : loop_(loop), on_batch_(std::move(on_batch)) {}

bool Reaper::start(std::string* error, bool reap_at_once) {
  if (::prctl(PR_SET_CHILD_SUBREAPER, 1) < 0) {
    *error = std::string("prctl(PR_SET_CHILD_SUBREAPER): ") + std::strerror(errno);
    return false;
  }
  if (int rc = uv_signal_init(loop_, signal_.get()); rc != 0) {
    *error = std::string("uv_signal_init: ") + uv_strerror(rc);
    return false;
  }
  signal_.mark_initialized();
  signal_->data = this;
  int rc = uv_signal_start(
      signal_.get(),
      [](uv_signal_t* h, int) {
        if (h->data) static_cast<Reaper*>(h->data)->reap_now();
      },
      SIGCHLD);
  if (rc != 0) {
    *error = std::string("uv_signal_start(SIGCHLD): ") + uv_strerror(rc);
    return false;
  }
  // Children that ended before we watched would otherwise wait for the next signal.
  if (reap_at_once) reap_now();
  return true;
}

void Reaper::reap_now() {
  // Reap everything first, then dispatch: a main pid's group is then judged empty or not
  // without zombies of the same batch still counting as members.
  std::vector<std::pair<pid_t, int>> ended;
  for (;;) {
    int wstatus = 0;
    pid_t pid = ::waitpid(-1, &wstatus, WNOHANG);
    if (pid <= 0) {
      if (pid < 0 && errno == EINTR) continue;
      break;  // 0: children remain but none has ended; ECHILD: no children at all
    }
    ended.emplace_back(pid, wstatus);
  }
  if (!ended.empty()) on_batch_(ended);
}

}  // namespace superd
