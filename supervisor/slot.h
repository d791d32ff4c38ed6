// Everything superd holds for one service definition besides its state machine: timers,
// capture pipes, held `listen` sockets, the notify socket, running checks. The process
// host owns the slots (process_host.h); readiness wiring and the control commands read
// and extend them.
#pragma once

#include <sys/types.h>
#include <uv.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/fd.h"
#include "base/uv_handle.h"
#include "proc/capture.h"
#include "proc/spawn.h"
#include "supervisor/cgroups.h"
#include "supervisor/check_runner.h"
#include "supervisor/notify_socket.h"
#include "supervisor/service.h"

namespace superd {

struct Slot {
  Service* service = nullptr;
  UvHandle<uv_timer_t> timer;      // Timer::current
  TimePoint deadline{};            // when `timer` fires, while it is active (re-exec saves it)
  UvHandle<uv_timer_t> old_timer;  // Timer::old: stop_timeout of the instance being replaced
  std::unique_ptr<OutputPipe> out;
  std::unique_ptr<OutputPipe> err;  // null when stderr goes to stdout's file
  // The exec status pipe of the newest main process, watched until the child has
  // exec'd (EOF) or reported why it could not (kept for when it is reaped).
  UniqueFd exec_status;
  pid_t exec_status_pid = 0;
  ExecContext exec_context;
  UvHandle<uv_poll_t> exec_watch;
  std::optional<SpawnFailure> exec_failure;
  // `listen` sockets, held for the life of the definition (fds 3.. of each process).
  std::vector<UniqueFd> listeners;
  std::vector<ListenEndpoint> listen_specs;  // what `listeners` were opened for
  std::string listen_error;               // why they could not be opened
  std::unique_ptr<NotifySocket> notify;   // ready = "notify"
  // The main process's /proc start time (running.json records the process group's).
  uint64_t main_start_time = 0;
  // Main processes that may not be superd's children (named by MAINPID=, or adopted after
  // a crash), by pid: each watched by a pidfd for its end, at most one per instance. A
  // child of superd is reaped as usual; another may be reaped by its own parent, its
  // exit status then unknown.
  struct PidWatch {
    UniqueFd pidfd;  // first: closed after the poll handle that watches it
    UvHandle<uv_poll_t> poll;
    std::function<void()> ended;  // the process host's
  };
  std::map<pid_t, std::unique_ptr<PidWatch>> main_watches;
  // Adopted after a crash (adoption.h): its processes are not superd's children, so a
  // zombie of its group may wait for another reaper; "gone" is read from /proc.
  bool foreign = false;
  std::string status_text;                // last STATUS= from the service
  std::shared_ptr<CheckRunner> ready_runner;
  std::shared_ptr<CheckRunner> health_runner;
  int health_failures = 0;
  std::vector<std::pair<OutputPipe*, int>> log_watch;  // ready = { log = ... } listeners
  // Pipes replaced (reload-config changed the log settings, or a start-new-first
  // restart gave the new instance its own), kept while the process group that writes
  // into them (the pid they belong to) lives.
  std::vector<std::pair<pid_t, std::unique_ptr<OutputPipe>>> old_outputs;
  // The service's leaves when cgroups are used (cgroups.h); null: process groups.
  std::unique_ptr<ServiceCgroup> cgroup;

  void retire_outputs(pid_t owner) {
    if (out) old_outputs.emplace_back(owner, std::move(out));
    if (err) old_outputs.emplace_back(owner, std::move(err));
  }
  // Close every handle (callbacks stop; memory goes in the close callbacks).
  void close_all() {
    exec_watch.reset();
    main_watches.clear();
    timer.reset();
    old_timer.reset();
    if (out) out->drain();
    if (err) err->drain();
    out.reset();
    err.reset();
    for (auto& [owner, pipe] : old_outputs) pipe->drain();
    old_outputs.clear();
    notify.reset();
    ready_runner.reset();
    health_runner.reset();
    log_watch.clear();
  }
};

}  // namespace superd
