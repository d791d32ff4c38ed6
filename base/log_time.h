// The times of log lines (SPEC `log_timestamps`, `superctl log --since/--until`): RFC 3339
// in UTC with microseconds, "2026-12-01T19:40:02.123456Z", always 27 bytes, so a stamped
// line is the stamp, one space, and the line. Pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/byte_buffer.h"

namespace superd {

// Microseconds since the Unix epoch.
using UnixMicros = int64_t;

inline constexpr size_t kStampBytes = 27;  // "YYYY-MM-DDTHH:MM:SS.uuuuuuZ"

UnixMicros unix_micros_now();  // CLOCK_REALTIME
// Writes exactly kStampBytes bytes (no terminator). Years 0..9999.
void format_stamp(UnixMicros t, char* out);
std::string format_stamp(UnixMicros t);

// The stamp at the start of a stamped line, as format_stamp writes it; nullopt when the
// line does not start with one.
std::optional<UnixMicros> parse_stamp(std::string_view line);

// `--since` / `--until`: a duration ago ("10m", "1h", "30s", "2h30m" not; one number and
// a unit, as the config's durations) or an RFC 3339 time ("2026-12-01T19:40:02Z",
// fractional seconds and a numeric offset allowed, a date alone meaning its midnight UTC).
// nullopt with *error set on anything else.
std::optional<UnixMicros> parse_time_bound(std::string_view text, UnixMicros now, std::string* error);

// Appends data to out with `stamp` (kStampBytes) and a space at the start of every line;
// *at_line_start carries over from one call to the next.
void append_stamped(const char* data, size_t n, const char* stamp, bool* at_line_start, ByteBuffer& out);

}  // namespace superd
