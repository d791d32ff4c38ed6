// Users and groups from the system's databases (NSS): looked up in the parent, before
// fork, because NSS may allocate, open files or talk to a daemon.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

namespace superd {

struct Identity {
  std::string name;
  uid_t uid = 0;
  gid_t gid = 0;
  std::string home;
  std::string shell;
};

// By name, or by uid when `name` is empty. nullopt with *error when unknown.
std::optional<Identity> lookup_user(const std::string& name, uid_t uid, std::string* error);
std::optional<gid_t> lookup_group(const std::string& name, std::string* error);
// The groups initgroups(3) would give `user` with primary group `gid`.
std::vector<gid_t> supplementary_groups(const std::string& user, gid_t gid);

}  // namespace superd
