#include "ipc/peer_auth.h"

#include <grp.h>
#include <pwd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <vector>

namespace superd::ipc {
namespace {

// getpwuid_r/getgrgid_r with a buffer that grows on ERANGE (large LDAP groups).
template <typename Entry, typename Key, typename Lookup>
bool lookup(Key key, Entry& entry, std::vector<char>& buffer, Lookup fn) {
  buffer.resize(1024);
  for (;;) {
    Entry* found = nullptr;
    const int rc = fn(key, &entry, buffer.data(), buffer.size(), &found);
    if (rc == ERANGE && buffer.size() < (1u << 20)) {
      buffer.resize(buffer.size() * 2);
      continue;
    }
    return rc == 0 && found != nullptr;
  }
}

bool user_in_group(uid_t uid, gid_t group) {
  passwd pw{};
  std::vector<char> buffer;
  if (!lookup(uid, pw, buffer, ::getpwuid_r)) return false;
  if (pw.pw_gid == group) return true;
  std::vector<gid_t> groups(64);
  for (int attempt = 0; attempt < 8; ++attempt) {
    int count = static_cast<int>(groups.size());
    if (::getgrouplist(pw.pw_name, pw.pw_gid, groups.data(), &count) >= 0) {
      groups.resize(static_cast<std::size_t>(count));
      return std::find(groups.begin(), groups.end(), group) != groups.end();
    }
    // Too small: count now holds the size needed.
    groups.resize(std::max<std::size_t>(static_cast<std::size_t>(count), groups.size() * 2));
  }
  return false;
}

}  // namespace

std::optional<PeerCredentials> peer_credentials(int fd) {
  ucred cred{};
  socklen_t len = sizeof cred;
  if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 || len != sizeof cred)
    return std::nullopt;
  return PeerCredentials{cred.uid, cred.gid, cred.pid};
}

bool is_authorized(const PeerCredentials& peer, std::optional<gid_t> group) {
  if (peer.uid == 0 || peer.uid == ::geteuid()) return true;
  if (!group) return false;
  if (peer.gid == *group) return true;
  return user_in_group(peer.uid, *group);
}

std::string group_label(gid_t gid) {
  group gr{};
  std::vector<char> buffer;
  if (lookup(gid, gr, buffer, ::getgrgid_r)) return gr.gr_name;
  return std::to_string(gid);
}

}  // namespace superd::ipc
