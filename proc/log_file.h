// How a service's log file is opened and rotated, by name. The file sink (log_sink.h)
// calls only these, from its worker thread, so how a file is created (its mode, where,
// with which safety against links) is decided here and nowhere else.
#pragma once

#include <string>

#include "base/fd.h"

namespace superd {

// Opens PATH for appending (O_APPEND, close-on-exec), creating it 0640; read-write, as
// the sink reads back the last byte a splice left to know whether a line ended. An invalid fd
// with *error_number set when it cannot be opened.
UniqueFd open_log_file(const std::string& path, int* error_number);

// PATH.{BACKUPS-1} -> PATH.{BACKUPS}, ..., PATH -> PATH.1; with no backups PATH goes.
void shift_log_backups(const std::string& path, int backups);

}  // namespace superd
