// The last step of a container's init: whatever is left once the services have stopped
// (a process a service started and moved into a session of its own, an orphan) gets
// TERM, then KILL. As PID 1 that is every other process of the PID namespace; as an
// `--init` under another init (tini, dumb-init) it is every descendant of superd, which
// as a child subreaper is the parent of all of them once their own parents are gone.
#pragma once

#include <sys/types.h>

#include <vector>

namespace superd {

// The processes a sweep would signal, not counting zombies (they are only waiting to be
// reaped). Read from /proc, where an entry may vanish while it is read: such a process
// is simply gone.
std::vector<pid_t> sweep_targets(bool pid1);

// Signals every target; returns how many were signalled.
int sweep(bool pid1, int signo);

}  // namespace superd
