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
#include "base/safe_path.h"

namespace superd {

// Binds and listens on `endpoint` (parsed and resolved by the config loader). A unix
// socket goes in a directory checked as safe_path.h says (root's, nobody else may write
// it: otherwise a rename and a symlink between bind and chown would make root chown any
// file), a stale socket there is replaced, and the new inode is made owner:group 0660
// through a descriptor of its own. On failure: a message naming the address, e.g. "bind
// tcp:127.0.0.1:8000: Address already in use".
std::variant<UniqueFd, std::string> open_listener(const ListenEndpoint& endpoint, uid_t owner,
                                                  gid_t group, const PathTrust& trust);

// What open_listener says when a unix socket's directory (or the path) is refused.
std::string listen_path_problem(const std::string& spec, const std::string& path,
                                const PathProblem& problem);

}  // namespace superd
