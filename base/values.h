// The small value languages of the config: durations, sizes, signals, umask, rlimit
// names. (Not to be confused with systemd units: these are units of measure and names.)
// Pure functions; each returns nullopt and sets *error to a short reason on bad input.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace superd {

using Duration = std::chrono::milliseconds;

// "100ms", "1s", "5m", "2h", "1.5s" or a bare integer (seconds). Non-negative.
std::optional<Duration> parse_duration(std::string_view text, std::string* error);
// "50MB", "10KB", "1GB", "512" (bytes). KB/MB/GB are powers of 1000; KiB/MiB/GiB of 1024.
std::optional<uint64_t> parse_size(std::string_view text, std::string* error);
// "TERM", "SIGTERM", "term", "RTMIN+3" or a number 1..64.
std::optional<int> parse_signal(std::string_view text, std::string* error);
// "TERM" for 15; "SIG42" for names we do not know.
std::string signal_name(int signo);
// "022", "0027", "77" (octal, at most 0777).
std::optional<mode_t> parse_umask(std::string_view text, std::string* error);
// "nofile" -> RLIMIT_NOFILE, ... (the lowercase systemd Limit* names without "Limit").
std::optional<int> parse_rlimit_name(std::string_view text);
std::string format_duration(Duration d);  // "1.5s", "100ms", "30s"

}  // namespace superd
