// Sockets superd opens for a service (`listen`) and keeps for the life of its definition,
// passed to every new process as fds 3.. with LISTEN_FDS/LISTEN_PID/LISTEN_FDNAMES (the
// systemd socket-activation protocol gunicorn implements). Because the socket outlives
// each process, a restart never refuses a connection: the kernel queues it until a
// process accepts.
#pragma once

#include <sys/types.h>

#include <string>
#include <variant>

#include "base/endpoint.h"
#include "base/fd.h"

namespace superd {

// Binds and listens on `endpoint` (parsed and resolved by the config loader). A unix
// socket is made owner:group with mode 0660 (a stale socket at the path is replaced).
// On failure: a message naming the address, e.g. "bind tcp:127.0.0.1:8000: Address
// already in use".
std::variant<UniqueFd, std::string> open_listener(const ListenEndpoint& endpoint, uid_t owner,
                                                  gid_t group);

}  // namespace superd
