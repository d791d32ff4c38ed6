// Who is on the other end of a control connection, and may they steer superd.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>

namespace superd::ipc {

struct PeerCredentials {
  uid_t uid = 0;
  gid_t gid = 0;
  pid_t pid = 0;
};

// SO_PEERCRED of a connected Unix socket (the credentials at connect() time).
std::optional<PeerCredentials> peer_credentials(int fd);

// Root, superd's own euid, or a user whose primary or supplementary groups in the user
// database (getpwuid_r + getgrouplist) include `group`; also a peer whose effective gid
// is `group`. Without a group, only root and superd's euid.
bool is_authorized(const PeerCredentials& peer, std::optional<gid_t> group);

// "www" for a known group, else its number: for "not root or in group 'www'".
std::string group_label(gid_t gid);

}  // namespace superd::ipc
