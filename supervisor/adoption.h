// After a crash of superd under systemd: the services still running are adopted, not
// restarted. systemd starts superd again with the fds the previous one kept in the fd
// store (fd_store.h) as LISTEN_FDS/LISTEN_FDNAMES; running.json says which processes it
// ran. A service is adopted when its record's process is alive with the recorded start
// time, is still in the service's cgroup leaf (when cgroups are used), and every fd it
// needs came back: its log pipes, its `listen` sockets, its notify socket. Its processes
// are not superd's children any more: each main process is watched by pidfd, and when it
// ends its exit status is unknown (status says so). Anything else goes the way of
// leftovers (proc/leftovers.h): stopped before anything starts.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "supervisor/cgroups.h"
#include "supervisor/config.h"
#include "supervisor/reexec_state.h"
#include "supervisor/run_records.h"

namespace superd {

struct Adoption {
  SavedState state;                       // the adopted services, as a re-exec would carry them
  std::vector<RunningRecord> not_adopted; // stopped as leftovers
  std::vector<std::string> lines;         // one per record: adopted, or why not
  // The `listen` sockets of services not adopted, in order: systemd still holds them, so
  // the port cannot be bound again; the service's next start gets these.
  std::map<std::string, std::vector<int>> listeners;
};

// `fds`: what systemd handed back, by name; the fds an adopted service takes are removed
// from it (the caller closes the rest). `now`: the time adopted machines are "since".
Adoption plan_adoption(const Config& config, const std::vector<RunningRecord>& records,
                       std::map<std::string, int>& fds, const Cgroups& cgroups, TimePoint now);

// LISTEN_FDS/LISTEN_FDNAMES of this process, by name, close-on-exec (empty when there are
// none); the variables are unset.
std::map<std::string, int> take_stored_fds();

}  // namespace superd
