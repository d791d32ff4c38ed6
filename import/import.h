// `superd import`: systemd units and supervisord programs translated into a super.toml.
//
// The pipeline has four steps, one file each:
//   1. read   (import_cli.cc)        the files named on the command line, each as systemd or
//                                    supervisord by --from, its extension or its content;
//                                    binary junk is refused before any parsing.
//   2. parse and translate           each source in its own syntax, exactly as its own tool
//      (import_systemd.cc,           reads it (systemd: sections, `\` continuations, `#`/`;`
//       import_supervisord.cc)       comments, empty assignments resetting lists, ExecStart=
//                                    quoting and $VAR rules; supervisord: Python's configparser
//                                    and shlex, `%(ENV_X)s` expansion), into ImportedService
//                                    values plus a Note for everything not reproduced as
//                                    written.
//   3. link   (import_link.cc)       what needs every file: After=/Requires= edges between
//                                    imported units, NAME.socket's ListenStream= into
//                                    NAME's `listen`, supervisord priorities into `after`.
//   4. emit   (import_emit.cc)       TOML in SPEC key order, each Note as a `# not imported:`
//                                    comment in the table it concerns and one stderr line.
//
// Decisions:
// - Nothing is dropped silently: whatever the output does not reproduce is a Note, and the
//   exit status is 2 when there is one. Bad input (not a unit, binary data, an unknown
//   section, a line that is not an assignment, unbalanced quotes) is an error with FILE:LINE
//   and exit status 1, and then nothing is printed on stdout.
// - Where the source system's default differs from superd's in how a service is restarted
//   or stopped, the output states the source's default, with a comment saying so: systemd's
//   Restart=no, KillMode=control-group and 90s TimeoutStopSec; supervisord's
//   autorestart=unexpected, startretries=3 and stopwaitsecs=10. The imported service then
//   behaves as it did.
// - KillMode=control-group signals every process of the unit: stop_mode = "group".
//   KillMode=mixed signals the main process and SIGKILLs the rest after the timeout, which is
//   exactly superd's stop_mode = "main". KillMode=process and none leave processes behind,
//   which superd never does: "main", reported.
// - After=/Requires=/Wants=/BindsTo=/Requisite= to a unit imported in the same run become
//   `after`, Before= the reverse edge. The service's own NAME.socket is its `listen`. systemd's
//   synchronization targets (network.target, multi-user.target, ...) are ignored without a
//   note: superd.service itself is ordered after them. Any other unit is reported: superd
//   orders only what it runs, so superd.service has to be ordered after it.
// - `${VAR}` in ExecStart= is expanded from Environment= of the same unit. Otherwise superd,
//   which does not expand variables, would run it literally, so it is reported, except in
//   the script of `sh -c '...'`, where the shell expands it at start from the environment
//   superd builds (environment and env_file), with the same result systemd gives.
// - supervisord's priority becomes `after`: each program is ordered after the programs of the
//   next lower priority level present.
// - supervisord's [unix_http_server] file= is reported, not made superd's `socket`: at its
//   default path superctl finds superd without -s, and nothing that spoke supervisord's
//   XML-RPC there could talk to superd anyway. chown's group becomes `socket_group`,
//   childlogdir `log_dir`, loglevel `log_level`.
// - A limit "soft:hard" with two values is imported as the hard value (superd sets both to
//   one value), reported.
// - The hardening directives become the service's `sandbox` table (systemd_sandbox.cc),
//   merged across lines as systemd merges them, so the table means what the unit meant.
//   Not in the table, reported: PrivateUsers=, PrivateNetwork=, ProtectProc=, RemoveIPC=,
//   NoExecPaths=/ExecPaths=, a RestrictNamespaces= list, and the like. SystemCallFilter=
//   is reported once for how a refused call fails: superd returns EPERM where systemd
//   kills the process without SystemCallErrorNumber=. SystemCallArchitectures=native is
//   what every superd filter does, so it goes without a note when a filter is loaded.
//   Capability names are checked with libcap; address family names are passed on as
//   written (`superd --check` knows them).
#pragma once

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/text.h"

namespace superd {

// `superd import [--from systemd|supervisord] FILE...`: prints the translated super.toml on
// `out`, one warning per thing not imported on `err` ("FILE:LINE: not imported: ..."),
// returns 0 when everything was imported, 2 when something was reported, 1 on bad input.
int run_import(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

namespace importer {

enum class SourceKind { systemd, supervisord };

struct Origin {
  std::string file;
  int line = 0;  // 0: the file as a whole
  std::string format() const;  // "FILE:LINE" or "FILE"
};

// Something the output does not reproduce as written.
struct Note {
  Origin at;
  std::string owner;  // a service name, kSupervisorOwner, or empty: the file header
  std::string what;   // "PrivateTmp=true"
  std::string why;    // empty when the key has no superd equivalent at all
  std::string format() const;  // "FILE:LINE: not imported: WHAT[: WHY]"
};
inline constexpr std::string_view kSupervisorOwner = "[supervisor]";

struct InputError {
  Origin at;
  std::string message;
  std::string format() const;  // "FILE:LINE: error: MESSAGE"
};

// A value for the output, with a trailing comment when the source did not say it (its
// system's default, written because superd's differs).
template <class T>
struct Setting {
  T value{};
  std::string comment;
};
template <class T>
using Opt = std::optional<Setting<T>>;

// A dependency a systemd unit names ([Unit] After=, Requires=, ...), resolved by link().
struct UnitRef {
  std::string key;   // "After", "Before", "Requires", "Wants", "BindsTo", "Requisite"
  std::string unit;  // "redis.service"
  Origin at;
};

struct ImportedService {
  std::string name;
  Origin at;  // the unit file, or the [program:x] line
  SourceKind kind = SourceKind::systemd;
  std::vector<std::string> comments;  // Description= and the like, atop the table

  // In SPEC order. Strings are plain values; the emitter quotes them.
  std::vector<std::string> command;
  Opt<std::string> directory, user, group;
  std::vector<std::pair<std::string, std::string>> environment;  // in order, keys unique
  Opt<std::string> env_file, umask;
  std::vector<std::pair<std::string, std::string>> limits;  // name -> "65536" or "infinity"
  Opt<bool> enabled;
  Opt<std::string> restart, start_seconds;
  Opt<int64_t> start_retries;
  Opt<std::string> backoff_initial, backoff_max;
  Opt<std::string> stop_signal, stop_mode, stop_timeout, reload_signal, ready;
  std::vector<std::string> listen;
  std::vector<std::string> after;
  Opt<std::string> stdout_path, stderr_path, log_max_bytes;
  Opt<int64_t> log_backups;
  Opt<int64_t> instances;  // supervisord numprocs, a systemd template's --instances
  // [service.NAME.sandbox]: key -> TOML value as written, in SPEC order.
  std::vector<std::pair<std::string, std::string>> sandbox;

  // For link().
  std::string unit;            // systemd: "uvicorn.service"
  std::vector<UnitRef> refs;   // systemd dependencies
  std::optional<int> priority; // supervisord
};

// A systemd .socket unit: its ListenStream= go to the service it activates.
struct SocketUnit {
  std::string unit;     // "gunicorn.socket"
  std::string service;  // "gunicorn.service", or Service=
  Origin at;
  std::vector<std::string> listen;    // "unix:/run/gunicorn.sock", "tcp:127.0.0.1:8000"
  std::vector<std::string> comments;  // its Description=, for the service's table
};

struct SupervisorSettings {
  Opt<std::string> socket_group, log_dir, log_level;
  bool empty() const { return !socket_group && !log_dir && !log_level; }
};

// supervisord's [include] files=: globs the reader resolves and imports in turn.
struct Include {
  std::string pattern;  // relative to the working directory, like the including file's path
  Origin at;
};

struct SourceFile {
  std::string path;  // as given; used in every message
  std::string text;
  SourceKind kind = SourceKind::systemd;
};

// The whole translation of one `superd import` run.
struct Import {
  std::vector<std::string> sources;  // every file read, in order (header, and note order)
  SupervisorSettings supervisor;
  std::vector<ImportedService> services;  // in file order
  std::vector<SocketUnit> sockets;
  std::vector<Note> notes;
  std::vector<InputError> errors;
  // `--instances N`: a template unit ("celery@.service") becomes `instances = N`
  // (0: not given, and a template is one instance).
  int64_t template_instances = 0;

  void note(Origin at, std::string owner, std::string what, std::string why = {});
  void error(Origin at, std::string message);
};

// Step 2. Both append to `import`; supervisord returns the [include] globs to read next.
void import_systemd(const SourceFile& file, Import& import);
std::vector<Include> import_supervisord(const SourceFile& file, Import& import);
// Step 3: cross-file edges and sockets; duplicate service names are errors.
void link(Import& import);
// Step 4.
void emit_toml(const Import& import, std::ostream& out);
// Notes (or errors) in file order, then line order.
std::vector<Note> sorted_notes(const Import& import);
std::vector<InputError> sorted_errors(const Import& import);

// ---- The small languages, exposed for unit tests (import_words.cc) ----

// systemd's word splitting of ExecStart= and Environment= values: whitespace separates,
// '…' and "…" quote (also inside a word: --opt="a b"), C escapes (\n, \t, \\, \", \x41,
// \u00e9, \101, \s) are decoded inside and outside quotes, unknown escapes are kept as written.
// nullopt and *error on unbalanced quotes.
std::optional<std::vector<std::string>> split_systemd_words(std::string_view text, std::string* error);
// Python's shlex.split (POSIX mode), which supervisord applies to command=.
std::optional<std::vector<std::string>> split_shell_words(std::string_view text, std::string* error);
// A systemd time span ("90", "5s", "1min 30s", "500ms", "2h") in microseconds; "infinity"
// gives UINT64_MAX; nullopt when malformed.
std::optional<uint64_t> parse_timespan_us(std::string_view text);
// A duration for super.toml: "90s", "10m", "100ms" (microseconds rounded up to milliseconds).
std::string format_duration_us(uint64_t us);
// "SIGTERM", "TERM", "term", "15" -> "TERM"; a number without a name stays a number.
std::optional<std::string> normalize_signal(std::string_view text);
// "0027", "027", "22" -> "027"; nullopt unless octal and at most 0777.
std::optional<std::string> normalize_umask(std::string_view text);
// TOML basic string with quotes, and a key (bare when it can be).
std::string toml_quote(std::string_view text);
std::string toml_key(std::string_view key);
bool valid_env_name(std::string_view name);
// 0 when `text` is UTF-8 text; otherwise the 1-based line of the first NUL, control
// character or invalid UTF-8 sequence.
int first_binary_line(std::string_view text);
// A value shown in a note: newlines as spaces, cut to 100 characters.
std::string shorten(std::string_view value);
// `sh -c SCRIPT ...` (also bash, dash; -c or a flag group ending in c, like -ec).
bool is_shell_command(const std::vector<std::string>& argv);
// Why the command would leave superd's supervision (celery multi, gunicorn --daemon,
// celery --detach), or empty.
std::string daemonize_warning(const std::vector<std::string>& argv);

}  // namespace importer
}  // namespace superd
