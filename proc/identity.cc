#include "proc/identity.h"

#include <grp.h>
#include <pwd.h>

#include <cerrno>
#include <cstring>

namespace superd {

// getpwnam_r with a buffer that grows; nullopt with *error set when the user is unknown.
std::optional<Identity> lookup_user(const std::string& name, uid_t uid, std::string* error) {
  std::vector<char> buffer(4096);
  passwd pw{};
  passwd* found = nullptr;
  for (;;) {
    int rc = name.empty() ? getpwuid_r(uid, &pw, buffer.data(), buffer.size(), &found)
                          : getpwnam_r(name.c_str(), &pw, buffer.data(), buffer.size(), &found);
    if (rc == ERANGE && buffer.size() < (1u << 20)) {
      buffer.resize(buffer.size() * 2);
      continue;
    }
    if (rc != 0) {
      *error = "looking up user '" + name + "': " + std::strerror(rc);
      return std::nullopt;
    }
    break;
  }
  if (!found) {
    *error = name.empty() ? "uid " + std::to_string(uid) + " has no passwd entry"
                          : "user '" + name + "' does not exist";
    return std::nullopt;
  }
  return Identity{pw.pw_name, pw.pw_uid, pw.pw_gid, pw.pw_dir ? pw.pw_dir : "/",
                  pw.pw_shell && *pw.pw_shell ? pw.pw_shell : "/bin/sh"};
}

std::optional<gid_t> lookup_group(const std::string& name, std::string* error) {
  std::vector<char> buffer(4096);
  group gr{};
  group* found = nullptr;
  for (;;) {
    int rc = getgrnam_r(name.c_str(), &gr, buffer.data(), buffer.size(), &found);
    if (rc == ERANGE && buffer.size() < (1u << 20)) {
      buffer.resize(buffer.size() * 2);
      continue;
    }
    if (rc != 0 || !found) {
      *error = "group '" + name + "' does not exist";
      return std::nullopt;
    }
    return gr.gr_gid;
  }
}

std::vector<gid_t> supplementary_groups(const std::string& user, gid_t gid) {
  int count = 32;
  std::vector<gid_t> groups(count);
  while (getgrouplist(user.c_str(), gid, groups.data(), &count) < 0) {
    groups.resize(count + 16);
    count = static_cast<int>(groups.size());
  }
  groups.resize(count);
  return groups;
}

}  // namespace superd
