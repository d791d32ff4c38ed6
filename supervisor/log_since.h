// `superctl log NAME --since T --until U` for a service with log_timestamps: the lines of
// its file and its rotated backups whose stamp is at or after T and before U, oldest
// first. Each file's lines are in time order (stamps never go back), so the first line
// is found by a binary search on byte offsets, not by reading the whole file. Lines
// without a stamp (none, unless written before log_timestamps was turned on) go with the
// line before them. Runs off the loop (it reads files). The files are opened as the tail
// opens them (safe_path.h): a link, FIFO or hard link there is refused, never read.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "base/log_time.h"
#include "base/safe_path.h"

namespace superd {

struct SinceResult {
  std::vector<std::string> lines;
  bool truncated = false;  // more matched than max_lines or max_bytes: the newest are kept
  std::string error;       // why a file was refused; no lines then
};

SinceResult lines_between(const std::string& path, int backups, UnixMicros since, UnixMicros until,
                          size_t max_lines, size_t max_bytes, const PathTrust& trust);

}  // namespace superd
