// What base/safe_path.cc and base/safe_socket.cc share; nothing outside base/ uses it.
#pragma once

#include <sys/types.h>

#include <string>

namespace superd {
struct PathTrust;
}

namespace superd::safe_path_detail {

std::string errno_text(int error);
// One name inside a directory: not empty, ".", ".." and without '/' or NUL.
bool is_component(const std::string& name);
bool root_or_self(uid_t uid);  // root, or the user superd runs as
std::string kind_of(mode_t mode);  // "a FIFO", "a directory", ...
// "is owned by 'www' (uid 33), not by root or ..."
std::string owner_problem(uid_t uid, const PathTrust& trust);

}  // namespace superd::safe_path_detail
