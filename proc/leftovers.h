// What a previous superd left running when it died (kill -9, a crash, OOM).
//
// superd records, for each service it runs, the main pid, its process group and the
// process's start time (field 22 of /proc/PID/stat, so a pid the kernel has since reused
// is never mistaken for ours). A new superd on the same state_dir reads the record and
// stops every live leftover before it starts anything.
//
// A leftover is the session the main process opened (setsid: session id == main pid):
// its workers keep it even when they change process group, and outlive a main process
// that died with superd (gunicorn's workers after a kill -9 of both). The kernel never
// hands out a pid while a session or group still carries it as its id, so processes of
// session PID, with PID itself gone, can only be what that main process left. Each is
// signalled through a pidfd opened after it was found and checked again, so a process
// that ends meanwhile and whose pid is reused is never hit. (A helper that double-forked
// and called setsid escapes this; with cgroups, proc/cgroup_leftovers.h finds it.)
//
// Why stop rather than re-adopt (without systemd's fd store; with it, the services are
// adopted: supervisor/adoption.h): the leftovers lost everything superd gave them. Their
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
#include <optional>
#include <string>
#include <vector>

namespace superd {

// The start time of a live process; nullopt when it does not exist (or is a zombie).
std::optional<uint64_t> process_start_time(pid_t pid);

// What is left of a main process recorded as (pid, start_time).
enum class LeftoverKind {
  none,     // nothing; or the pid is another process's now
  running,  // the main process itself runs
  orphans,  // it ended, processes of its session remain
};
LeftoverKind find_leftover(pid_t pid, uint64_t start_time);

// Whether a process of session `sid` still runs (zombies do not count): for a group whose
// processes are not superd's children, which kill(-pgid, 0) would see until someone else
// reaps them.
bool session_alive(pid_t sid);

struct Leftover {
  std::string service;
  pid_t pid = 0;  // main pid == process group id == session id (setsid)
  int stop_signal;
  bool signal_group_first;  // stop_mode = group
  std::chrono::milliseconds stop_timeout;
  bool main_alive = true;   // false: LeftoverKind::orphans, only the session is left
};

// Stops every leftover group (all of them at once, so the wait is the longest timeout,
// not the sum) and returns one line per group saying how it ended. Waits with pidfds:
// the leftovers are not our children.
std::vector<std::string> stop_leftovers(const std::vector<Leftover>& leftovers);

}  // namespace superd
