// What superd hands to the superd it re-executes (`superctl reexec`): every service's
// state machine, its processes, its timers, and the fds it holds, written into a memfd
// that survives the exec, as systemd's serialization does for daemon-reexec.
//
// The format is text, one `key=value` per line, so that version N and N+1 read each
// other: the first line is `superd-state FORMAT`; `service=NAME` begins the keys of one
// service; a key this superd does not know is ignored with a warning; a key it needs and
// does not find takes its default. Values escape backslash and newline (\\, \n). Times
// are CLOCK_MONOTONIC nanoseconds (steady_clock), which an exec does not reset.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "supervisor/service.h"

namespace superd {

// The format this superd writes; it reads every format from 1 to this one.
inline constexpr int kStateFormat = 1;

struct SavedPipe {
  int read_fd = -1;  // -1: no such pipe
  int write_fd = -1;
  bool at_line_start = true;  // timestamps: whether the next byte begins a line
};

struct SavedService {
  std::string name;
  ServiceSnapshot machine;
  uint64_t start_time = 0;              // of machine.pid: /proc/PID/stat field 22
  uint64_t session_start_time = 0;      // of machine.pgid (0: the same process as pid)
  std::optional<TimePoint> deadline;    // the current instance's timer, if armed
  bool pending_start = false;           // queued, waiting for its `after`
  SavedPipe out, err;                   // err absent: stderr goes to stdout's pipe
  std::vector<int> listen_fds;          // in the order of the service's `listen`
  int notify_fd = -1;
  std::string status_text;              // the last STATUS= the service sent
  int health_failures = 0;
  bool swap_leaf = false;               // its instance runs in the NAME~swap cgroup leaf
  // Adopted after a crash (adoption.h), not handed over by a re-exec: its processes are
  // not this superd's children. Never written into a state.
  bool adopted = false;
};

struct SavedState {
  int control_fd = -1;       // the listening control socket
  int control_lock_fd = -1;  // its PATH.lock, flock()ed
  int state_lock_fd = -1;    // state_dir/superd.lock, flock()ed
  bool ready_sent = false;   // READY=1 went to systemd
  int reexecs = 0;           // how many times this superd has re-executed, this one included
  std::string cgroup_own_v2, cgroup_own_v2_dir;  // where the first superd's cgroup was (cgroups.h)
  std::vector<SavedService> services;
  bool adopted = false;  // built by plan_adoption() after a crash, not by a re-exec
};

std::string encode_state(const SavedState& state);

struct DecodedState {
  std::optional<SavedState> state;    // nullopt: unreadable (see error)
  std::string error;
  std::vector<std::string> warnings;  // unknown keys, ignored
};
DecodedState decode_state(std::string_view text);

// Every fd the state names, for the exec (they must stay open across it).
std::vector<int> fds_of(const SavedState& state);

}  // namespace superd
