// The last lines of a service's log, for `superctl log -n`: read backwards from the end
// of the file, then from the newest rotated file if the current one is short. The files
// are opened as safe_path.h says (checked directory, no symlink, FIFO or hard link), and
// what is returned is bounded in bytes as well as in lines, so that one reply fits the
// protocol's line limit whatever the files hold. Runs on a pool thread (control_log.cc).
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "base/safe_path.h"

namespace superd {

// A line longer than this is returned as its last kMaxTailLine bytes (the log sink
// splits longer lines, so only files written otherwise have them).
inline constexpr size_t kMaxTailLine = 64u << 10;

struct Tail {
  std::vector<std::string> lines;  // oldest first
  bool truncated = false;          // more lines were asked for than max_bytes holds
  std::string error;               // why a file was refused; no lines then
};

// Up to `count` lines of PATH and PATH.1 whose JSON encoding (json_string_bytes, plus a
// separator each) stays within `max_bytes`.
Tail tail_lines(const std::string& path, size_t count, size_t max_bytes, const PathTrust& trust);

// The bytes `text` takes as a JSON string, quotes included, as nlohmann::json dumps it
// (invalid UTF-8 replaced by U+FFFD).
size_t json_string_bytes(const std::string& text);

}  // namespace superd
