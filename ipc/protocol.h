// The control protocol, shared by superd and superctl: newline-delimited JSON over a Unix
// stream socket, one object per line each way, at most kMaxLineBytes a line.
//
//   request  {"id": 7, "cmd": "status", "args": {"names": ["app"]}}
//   reply    {"id": 7, "ok": true,  "result": {...}}
//            {"id": 7, "ok": false, "error": {"code": "not_found", "message": "no service 'ap'"}}
//   stream   {"id": 7, "line": "..."}          (log follow: one per output line)
//
// Arguments per command (all optional unless marked):
//   hello                                      -> {"protocol", "version", "pid", "reexecs"}
//   status         {"names": [..]}             -> {"services": [ServiceStatus...],
//                                                  "groups": [Group...]}
//   start|stop|restart|reload {"names": [..]} (required; "all" means every service)
//                                              -> {"services": [ServiceStatus...]}
//                  restart also {"parallel": K} (instances restarted at once, default 1)
//                                              -> also {"rolls": [Roll...]}
//   signal         {"signal": "HUP", "names": [..]}
//   enable|disable {"names": [..], "now": false}
//   log            {"name": "app", "lines": 20, "follow": false,
//                   "since": "10m", "until": "2026-12-01T19:40:02Z"}
//                                              -> {"lines": ["..", ..], "note": ".."} then
//                                                 stream lines. since/until (a duration ago
//                                                 or an RFC 3339 time) need log_timestamps
//                                                 for files; "lines" then caps the newest
//                                                 kept (default 100000). "note", when present,
//                                                 says where lines went that are in no file
//                                                 (the console, the journal) and how many
//                                                 were dropped.
//   reload-config                              -> {"added": [..], "removed": [..],
//                                                  "changed": [..], "unchanged": [..]}
//   shutdown                                   -> {}
//   reopen-logs                                -> {"files": N} (closed and opened again by
//                                                 name, each at its next line end)
//   reexec                                     -> {"pid", "exe", "reexecs"}, sent just before
//                                                 the exec (reexecs: what the new superd's
//                                                 hello will say); refused with "failed"
//                                                 and why, the old superd untouched
//   scale          {"name": "worker", "instances": N} (both required)
//                                              -> {"service", "instances", "added": [..],
//                                                  "removed": [..], "services": [..]}
//
// Names: a service's own name; NAME, the name of a service with `instances`, for every
// current instance of it (none when scaled to 0: not an error); NAME@K for one instance.
// ServiceStatus: {"name", "state", "pid" (0 when none), "since" (unix seconds),
//   "uptime" (seconds the current process has run, 0 when none), "restarts",
//   "enabled", "desired" ("up" | "down"), "last_exit" (e.g. "exited with status 1",
//   "killed by signal KILL", "" before the first exit), "reason" (why the service is in
//   its state: the fatal reason, a start failure; "" otherwise), "service" (the table
//   it comes from: its own name, or "worker" for "worker@1"), "instance" (its number,
//   null for a service without `instances`)}
// Group: {"service", "instances" (running now), "configured" (what the file says)}, one
//   per service with `instances` that the request concerns, in file order.
// Roll: {"service", "restarted": [..], "failed": "" or "worker@1: why",
//   "untouched": [..]} (a rolling restart: one instance at a time, or K with parallel;
//   the first that fails ends it, and the rest are not touched).
//
// A failed start/restart answers ok=false, code "failed", a message naming the service
// and the reason, and still carries "result" with every service's status.
// A reload-config refused with code "invalid_config" carries the problems one per entry
// in "error": {"code", "message", "errors": ["FILE:LINE:COL: message", ..]}; "message"
// may be those lines joined by '\n'. superctl prints "errors" when present, else every
// line of "message".
//
// Replies to a request whose id could not be read (bad JSON, id missing or not an
// integer) carry "id": null. Unknown top-level keys in a request are ignored, so a newer
// client may add some. A peer that is neither root nor in socket_group may send only
// hello; everything else is answered permission_denied by the server itself.
#pragma once

#include <cstddef>
#include <string_view>

namespace superd::ipc {

inline constexpr int kProtocolVersion = 1;
inline constexpr std::size_t kMaxLineBytes = 1 << 20;
// Where superd listens unless the config says otherwise; superctl's default, which the
// SUPERD_SOCKET environment variable (and then -s) overrides.
inline constexpr std::string_view kDefaultSocketPath = "/run/super/super.sock";
inline constexpr std::string_view kSocketEnvVar = "SUPERD_SOCKET";

namespace cmd {
inline constexpr std::string_view hello = "hello";
inline constexpr std::string_view status = "status";
inline constexpr std::string_view start = "start";
inline constexpr std::string_view stop = "stop";
inline constexpr std::string_view restart = "restart";
inline constexpr std::string_view reload = "reload";
inline constexpr std::string_view signal = "signal";
inline constexpr std::string_view enable = "enable";
inline constexpr std::string_view disable = "disable";
inline constexpr std::string_view log = "log";
inline constexpr std::string_view reload_config = "reload-config";
inline constexpr std::string_view shutdown = "shutdown";
inline constexpr std::string_view reopen_logs = "reopen-logs";
inline constexpr std::string_view reexec = "reexec";
inline constexpr std::string_view scale = "scale";
inline constexpr std::string_view security = "security";
inline constexpr std::string_view all[] = {hello,  status, start,  stop,
                                           restart, reload, signal, enable,
                                           disable, log,    reload_config, shutdown,
                                           scale,   security, reopen_logs, reexec};
}  // namespace cmd

namespace err {
inline constexpr std::string_view not_found = "not_found";             // unknown service
inline constexpr std::string_view permission_denied = "permission_denied";
inline constexpr std::string_view bad_request = "bad_request";         // malformed JSON/fields
inline constexpr std::string_view unknown_command = "unknown_command";
inline constexpr std::string_view too_large = "too_large";             // line over the limit
inline constexpr std::string_view busy = "busy";                       // too many clients
inline constexpr std::string_view failed = "failed";                   // the action failed
inline constexpr std::string_view invalid_config = "invalid_config";   // reload-config errors
inline constexpr std::string_view shutting_down = "shutting_down";
}  // namespace err

// superctl's exit codes (SPEC).
namespace exit_code {
inline constexpr int ok = 0;
inline constexpr int error = 1;
inline constexpr int not_running = 3;
inline constexpr int no_such_service = 4;
inline constexpr int unreachable = 69;
}  // namespace exit_code

}  // namespace superd::ipc
