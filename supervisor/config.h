// The configuration model: what a super.toml says, after defaults are applied and every
// value is checked and typed (addresses parsed and resolved, regexes compiled). Loading
// and validation are config_load.h (its passes in config_loader.h); this header is the
// plain data the rest of superd reads. Every service keeps the source position of its
// table so later checks (and reload-config diffs) can still point at the file.
#pragma once

#include <sys/resource.h>
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/endpoint.h"
#include "base/log_pattern.h"
#include "base/safe_path.h"
#include "base/values.h"
#include "supervisor/config_resources.h"
#include "supervisor/config_sandbox.h"

namespace superd {

struct SourcePos {
  std::string file;
  int line = 0;
  int col = 0;
  bool operator==(const SourcePos&) const = default;
};

// One problem found in a config file, printed as FILE:LINE:COL: message.
struct ConfigError {
  SourcePos pos;
  std::string message;
  std::string format() const;  // "FILE:LINE:COL: message" (or "FILE: message" without a line)
};

enum class RestartPolicy { always, on_failure, never };
// Where an output stream goes (SPEC `stdout`): a file, superd's own stdout or stderr
// ("console": stdout for `stdout`, stderr for `stderr`), or the journal.
enum class LogTarget { file, console, journal };
enum class StopMode { main, group };

// A readiness or liveness check (SPEC `ready` and `health`). The target of its kind is
// typed at load: an address with its host resolved, a URL, a compiled regex.
struct Check {
  enum class Kind { started, notify, tcp, http, exec, log };
  Kind kind = Kind::started;
  HostPort tcp;                    // tcp: where to connect
  HttpUrl http;                    // http: what to GET (a 2xx status passes)
  LogPattern log;                  // log: a line of the service's output that matches
  std::vector<std::string> argv;   // exec
  Duration timeout{60000};         // ready: give up after this long
  Duration interval{1000};         // between probes (tcp/http/exec; health)
  int failures = 3;                // health: consecutive failures before a restart
  bool operator==(const Check&) const = default;
};

struct ServiceConfig {
  std::string name;  // "app", or "worker@2" for instance 2 of a service with `instances`
  SourcePos pos;     // where [service.NAME] starts
  // An instance: the table it is made from ("worker") and its number; a plain service
  // has template_name == "" and instance == -1.
  std::string template_name;
  int instance = -1;

  std::vector<std::string> command;  // command[0] as written (absolute or a name on PATH)
  std::string directory;             // empty: "/", as under systemd
  std::string user;                  // empty: the user superd runs as (root)
  std::string group;                 // empty: the user's primary group
  std::map<std::string, std::string> environment;
  std::string env_file;              // empty: none; read again at every start
  mode_t umask = 022;
  std::map<int, rlim_t> limits;      // RLIMIT_* resource -> soft and hard value
  bool enabled = true;

  RestartPolicy restart = RestartPolicy::always;
  Duration start_seconds{1000};
  int start_retries = 5;
  Duration backoff_initial{100};
  Duration backoff_max{30000};

  int stop_signal = 15;  // SIGTERM
  StopMode stop_mode = StopMode::main;
  Duration stop_timeout{30000};
  int reload_signal = 1;  // SIGHUP

  Check ready;                  // default: started
  std::optional<Check> health;  // optional liveness check
  std::vector<ListenEndpoint> listen;  // tcp:HOST:PORT (an IP literal) | unix:/PATH
  std::vector<std::string> after;

  LogTarget stdout_target = LogTarget::file;
  LogTarget stderr_target = LogTarget::file;  // not given: stdout's
  std::string stdout_path;  // file: absolute, resolved against log_dir; else ""
  std::string stderr_path;  // file: absolute; equal to stdout_path unless configured
  // `stderr` was written (else it follows `stdout`: the same file or console stream; for
  // the journal a stream of its own, at PRIORITY 3).
  bool stderr_given = false;
  uint64_t log_max_bytes = 50ull * 1000 * 1000;
  int log_backups = 5;
  bool log_timestamps = false;  // file lines start with an RFC 3339 UTC time (microseconds)

  // When it goes fatal (a failing exit under restart = "never" included), superd stops
  // the stack and exits with its exit code (128 + signal when killed): a container's
  // main process.
  bool critical = false;

  ResourcesConfig resources;  // [service.NAME.resources]
  SandboxConfig sandbox;      // [service.NAME.sandbox]

  // Equal definitions keep their running process on reload-config. The position is
  // not part of the definition: moving a table in the file changes nothing.
  bool same_definition(const ServiceConfig& other) const;
  // stderr has a capture pipe of its own (else it shares stdout's).
  bool stderr_own_pipe() const;
  // stderr's console is superd's stderr (fd 2); stdout's is fd 1.
};

// A service with `instances = N`: the table as written, from which instance K is made
// (config_instances.h). `proto` holds every key with "{instance}" still in the text of
// command, environment values, env_file, stdout and stderr, and instance 0's typed values;
// the keys whose values are typed (listen, the ready and health targets) keep their text
// here, to be substituted and parsed again for each instance, with their positions for
// the messages.
struct TemplateText {
  std::string text;
  SourcePos pos;
  bool operator==(const TemplateText&) const = default;
};

struct ServiceTemplate {
  std::string name;     // "worker": its instances are worker@0 .. worker@N-1
  SourcePos pos;        // where [service.NAME] starts
  int instances = 1;    // as the file says; `superctl scale` may run another count
  SourcePos instances_pos;
  ServiceConfig proto;
  std::vector<TemplateText> listen;          // one per proto.listen entry
  std::optional<TemplateText> ready_target;  // tcp, http or log text of `ready`
  std::optional<TemplateText> health_target;
  std::optional<TemplateText> stdout_text, stderr_text;  // as written, when given
};

struct SupervisorConfig {
  std::string socket = "/run/super/super.sock";
  std::string socket_group;  // empty: only root may control
  std::string state_dir = "/var/lib/super";
  std::string log_dir = "/var/log/super";
  std::string log_level = "info";  // trace | debug | info | warn | error | critical | off
  CgroupSetting cgroup;            // "auto" | "off" | PATH
  Duration shutdown_timeout{30000};  // PID 1: the whole stack's stop budget
  std::string journal_socket = "/run/systemd/journal/socket";  // journald's native socket
  // Directories the operator allows to be writable by their group, each with the reason
  // (base/safe_path.h: otherwise superd refuses them). Never a group a service runs as.
  std::map<std::string, std::string> allow_group_writable;

  // The trust superd opens its paths with: allow_group_writable, owners root only.
  PathTrust path_trust() const;
};

struct Config {
  std::string path;  // the file it was read from
  SupervisorConfig supervisor;
  // In file order; each instance of a service with `instances` is one of them, in
  // instance order at the place of its table.
  std::vector<ServiceConfig> services;
  std::vector<ServiceTemplate> templates;  // the tables with `instances`, in file order

  const ServiceConfig* find(const std::string& name) const;
  const ServiceTemplate* find_template(const std::string& name) const;
  // The services an `after` entry or a command's NAME stands for: a service's own name,
  // or a template's name for every current instance of it.
  std::vector<std::string> expand(const std::string& name) const;
  // Service names ordered so that every service comes after those in its `after`.
  std::vector<std::string> start_order() const;
};

// Services by name, for a loop that looks up many (Config::find scans, and a loop of
// finds over 5,000 services was most of a reload-config). It points into the services it
// was made from: valid while those are neither moved nor resized.
class ServiceIndex {
 public:
  ServiceIndex() = default;
  explicit ServiceIndex(const std::vector<ServiceConfig>& services);
  explicit ServiceIndex(const std::vector<const ServiceConfig*>& services);
  const ServiceConfig* find(std::string_view name) const;

 private:
  std::unordered_map<std::string_view, const ServiceConfig*> by_name_;
};

}  // namespace superd
