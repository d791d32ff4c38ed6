// superd's own open-file limit. superd holds two pipe ends per service (and a log file
// each while it writes), so a few hundred services pass systemd's default soft limit of
// 1024; at start it raises its soft RLIMIT_NOFILE to the hard one, as systemd does for
// itself. Services never see the raise: each gets back the limit superd was started with
// (a program that select()s breaks above 1024), unless its `limits.nofile` sets one.
#pragma once

#include <sys/resource.h>

namespace superd {

// Remembers the limit found and raises the soft one to the hard one: at start, before any
// thread, and again from the loop after a failed self-exec; false (and errno) when the
// raise failed, which leaves the old limit.
bool raise_fd_limit();
// The limit superd was started with: what a service inherits (once raise_fd_limit ran).
rlimit inherited_fd_limit();
// True when the limit in force differs from the inherited one (a spawn must reset it).
bool fd_limit_raised();
// Puts the inherited limit back, so that a superd exec'ing itself starts from what its
// first self found (fds already open above it stay open); raise_fd_limit() undoes it.
void restore_fd_limit();

}  // namespace superd
