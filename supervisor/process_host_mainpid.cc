// MAINPID= from a service: another of its processes becomes its main process (gunicorn's
// USR2 binary upgrade, nginx's). The process group superd started stays the instance's
// (stops, KILL, cgroup leaf and running.json go by it); only whose exit ends the service
// changes. The new main is usually the old one's child, so not superd's: it is watched by
// a pidfd until its end, and when it has become superd's child by then (the old main left
// first, superd is the subreaper) its exit status is reaped as for any main process.
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include <spdlog/spdlog.h>

#include "proc/cgroup_kill.h"
#include "proc/leftovers.h"
#include "supervisor/process_host.h"

namespace superd {

// In the service's session (every process superd starts opens one), or in the cgroup
// leaf of its current instance.
bool ProcessHost::belongs_to(Slot& slot, pid_t pid) {
  const pid_t session = slot.service->pgid();
  if (session != 0 && session_of(pid) == session) return true;
  const CgroupLeaf* leaf = slot.cgroup ? slot.cgroup->current() : nullptr;
  if (!leaf) return false;
  std::string ignored;
  const auto pids = cgroup_pids(leaf->dir, &ignored);
  return pids && std::find(pids->begin(), pids->end(), pid) != pids->end();
}

void ProcessHost::hand_over_main(Slot& slot, pid_t sender, pid_t main) {
  Service& service = *slot.service;
  const pid_t before = service.pid();
  if (main == before) return;
  // The pidfd first: once it is open, the pid checked below cannot be another process's.
  UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, main, 0)));
  const auto started = pidfd ? process_start_time(main) : std::nullopt;
  std::string refused;
  if (!pidfd || !started) {
    refused = "no such process";
  } else if (main == ::getpid() || !belongs_to(slot, main)) {
    refused = "not a process of this service (its session or cgroup)";
  } else if (!service.on_main_pid(main)) {
    refused = std::string("the service is ") + state_name(service.state());
  }
  if (!refused.empty()) {
    spdlog::warn("{}: MAINPID={} from pid {} ignored: {}", service.name(), main, sender, refused);
    return;
  }
  by_pid_.erase(before);
  by_pid_[main] = &slot;
  slot.main_start_time = *started;
  set_writer_pid(slot, main);
  spdlog::info("{}: main process is now pid {} (MAINPID= from pid {}; was pid {})", service.name(), main, sender,
               before);
  slot.main_watches.erase(before);  // (a MAINPID= of a MAINPID= main)
  watch_main(slot, main, std::move(pidfd));
  changed();
}

void ProcessHost::watch_main(Slot& slot, pid_t pid, UniqueFd pidfd) {
  auto watch = std::make_unique<Slot::PidWatch>();
  watch->pidfd = std::move(pidfd);
  if (!watch->pidfd || uv_poll_init(loop_, watch->poll.get(), watch->pidfd.get()) != 0) {
    spdlog::error("{}: cannot watch its main process pid {}: its end will be noticed only if superd reaps it",
                  slot.service->name(), pid);
    return;
  }
  watch->poll.mark_initialized();
  watch->poll->data = watch.get();
  watch->ended = [this, &slot, pid] { main_watch_fired(slot, pid); };
  uv_poll_start(watch->poll.get(), UV_READABLE, [](uv_poll_t* h, int, int) {
    auto* w = static_cast<Slot::PidWatch*>(h->data);
    if (!w || !w->ended) return;
    const auto ended = w->ended;  // a copy: the watch itself goes in the call
    ended();
  });
  slot.main_watches[pid] = std::move(watch);
}

// Main process `pid` (one that may not be superd's child) has ended: its pidfd is
// readable. Reaped here when it is superd's child by now; otherwise its parent reaps it
// and how it ended is unknown.
void ProcessHost::main_watch_fired(Slot& slot, pid_t pid) {
  slot.main_watches.erase(pid);
  if (by_pid_.find(pid) == by_pid_.end()) return;  // reaped already
  int wstatus = 0;
  const pid_t reaped = ::waitpid(pid, &wstatus, WNOHANG);
  if (reaped == 0) return;  // superd's child by now: the reaper sees its end
  by_pid_.erase(pid);
  if (reaped == pid) {
    end_main(slot, pid, ExitStatus::from_wait_status(wstatus));
  } else {
    end_main(slot, pid, ExitStatus{true, SIGKILL}, "ended (exit status unknown: it was not superd's child)");
  }
  records_changed();
  check_groups();
  if (supervisor_) supervisor_->collect_retired();
}

}  // namespace superd
