// How superctl shows service status to a person: the `status` table, the one-line
// summaries after start/stop/restart, and which results make `status` exit 3. Pure
// functions of the daemon's result (the ServiceStatus schema in protocol.h), tolerant
// of missing or mistyped fields: a newer or older daemon must not crash superctl.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace superd::ipc {

struct StatusFormatOptions {
  bool color = false;  // ANSI colours on the state; main decides (isatty, NO_COLOR)
};

// "9s", "4m12s", "2h05m", "3d4h": the two largest units, the second one zero-padded
// below a day, so a column of uptimes reads at a glance.
std::string format_uptime(std::int64_t seconds);
// MEM: "512B", "12.3M", "1.5G" (powers of 1024, as ps and top show them).
std::string format_bytes(std::int64_t bytes);
// CPU: "0.42s" below a minute, then as format_uptime ("4m12s").
std::string format_cpu_time(std::int64_t usec);

// "cgroups: not used: WHY; services run in process groups", as superd logs it at start
// and the status table ends with it.
std::string cgroups_not_used_line(std::string_view why_not);

// NAME STATE PID UPTIME MEM CPU RESTARTS ENABLED, aligned, one row per service of
// result["services"] (MEM and CPU from its cgroup, "-" without); a service that is not
// running gets its reason and last exit after the columns. The instances of a service
// with `instances` are grouped under one row for the service ("worker  2/3 running",
// MEM, CPU and RESTARTS summed, "scaled to 3 (the config says 2)" when scaled), each
// indented below it; a service scaled to 0 (result["groups"]) is a row "0 instances".
// Then one line when cgroups are not used (result["cgroups"]) and one per limit a
// service does not get. Ends with '\n'.
std::string format_status_table(const nlohmann::json& result,
                                const StatusFormatOptions& options = {});

// "app: running (pid 1234)", "worker: fatal (exec /usr/bin/celery: No such file or
// directory)" or "flower: stopped" (no reason after a stop), one line per service of
// result["services"] whose name (or, for an instance, whose service's) is in `only`
// (every service when `only` is empty or holds "all").
std::string format_state_lines(const nlohmann::json& result,
                               const std::vector<std::string>& only = {},
                               const StatusFormatOptions& options = {});

// Text from a service (log lines, STATUS=) made safe for a terminal: control characters
// (C0 but tab, DEL, C1) and bytes that are not UTF-8 become \xNN, so a service cannot
// move the cursor, retitle the window or hide a line on an operator's terminal. UTF-8
// text passes unchanged. superctl applies it when stdout is a terminal, unless --raw.
std::string escape_controls(std::string_view text);

// `superctl status` exits 3 when a named service (or, with no names, an enabled one)
// is not in state "running"; a service with `instances` named as a whole, when any of
// its instances is not (scaled to 0: none is missing). Named services the result lacks
// count as not running; "all" among the names means every enabled service.
bool any_not_running(const nlohmann::json& result, const std::vector<std::string>& names);

}  // namespace superd::ipc
