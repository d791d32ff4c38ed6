// The one place a service's config becomes a SpawnSpec, the spawn path's input.
#pragma once

#include "proc/spawn_spec.h"
#include "supervisor/config.h"

namespace superd {

// Command, identity, directory, umask, limits, environment and sandbox of `config`. The caller
// adds what belongs to one process: its fds and superd's own variables.
SpawnSpec spawn_spec_of(const ServiceConfig& config);

}  // namespace superd
