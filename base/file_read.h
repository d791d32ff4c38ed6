// Reading a small file that a config names, as root, without being tricked into hanging
// or exhausting memory: a FIFO, a device or /dev/zero is refused, never read.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace superd {

inline constexpr uint64_t kMaxSmallFileBytes = 16ull << 20;

// The whole file at `path`, opened once (O_NONBLOCK, so a FIFO cannot block the open)
// and checked on the open descriptor: a regular file of at most `max_bytes`. On failure
// nullopt and *error is a phrase that completes "PATH ...": "does not exist", "is not a
// regular file", "is larger than 16 MiB", "cannot be read: Permission denied".
std::optional<std::string> read_small_file(const std::string& path, std::string* error,
                                           uint64_t max_bytes = kMaxSmallFileBytes);

}  // namespace superd
