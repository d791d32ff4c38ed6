// How a service's log file is opened and rotated, by name, relative to its checked
// directory (base/safe_path.h). The file sink (log_sink.h) calls only these, from its
// worker thread, so how a file is created (its mode, where, with which safety against
// links) is decided here and nowhere else.
#pragma once

#include <optional>
#include <string>
#include <variant>

#include "base/fd.h"
#include "base/safe_path.h"

namespace superd {

// Walks and checks PATH's directory (made 0750 if missing) into *dir, then opens PATH in
// it for appending (O_APPEND, O_NOFOLLOW, close-on-exec), creating it 0640: a regular file
// with one link that superd owns. Read-write, as the sink reads back the last byte a
// splice left to know whether a line ended. The problem, in safe_path.h's words, when not.
std::variant<UniqueFd, PathProblem> open_log_file(const std::string& path, const PathTrust& trust,
                                                  SafeDir* dir);

// NAME.{BACKUPS-1} -> NAME.{BACKUPS}, ..., NAME -> NAME.1 by renameat relative to DIR;
// with no backups NAME goes.
void shift_log_backups(const SafeDir& dir, const std::string& name, int backups);

}  // namespace superd
