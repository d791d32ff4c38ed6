// One supervisord [program:x] section translated into an ImportedService.
#include <algorithm>
#include <cctype>
#include <filesystem>
#include <map>

#include "import/ini_file.h"

namespace superd::importer {
namespace {

// ---- [program:x] ---------------------------------------------------------------------------

class ProgramImport {
 public:
  ProgramImport(const SourceFile& f, const IniSection& sec, const std::string& here, Import& im)
      : f_(f), sec_(sec), im_(im) {
    s_.name = sec.name.substr(std::string_view("program:").size());
    s_.at = {f.path, sec.line};
    s_.kind = SourceKind::supervisord;
    x_.here = here;
    x_.program = true;
    x_.program_name = s_.name;
  }

  void run() {
    size_t errors = im_.errors.size();
    if (s_.name.empty()) {
      im_.error(s_.at, "[program:] without a name");
      return;
    }
    numprocs();
    command();
    process();
    restart();
    stop();
    logs();
    for (const IniEntry& e : sec_.entries) {
      if (handled_.count(e.key)) continue;
      if (sec_.get(e.key) == &e) note(e, "");
    }
    if (im_.errors.size() == errors) im_.services.push_back(std::move(s_));
  }

 private:
  const IniEntry* get(const std::string& key) {
    handled_[key] = true;
    return sec_.get(key);
  }
  std::string value(const IniEntry& e) { return expand(e, x_, f_.path, s_.name, im_); }
  void note(const IniEntry& e, std::string why) { note(e, what(e), std::move(why)); }
  void note(const IniEntry& e, std::string w, std::string why) {
    im_.note({f_.path, e.line}, s_.name, std::move(w), std::move(why));
  }
  void error(const IniEntry& e, std::string message) { im_.error({f_.path, e.line}, std::move(message)); }

  std::optional<bool> boolean(const IniEntry& e) {
    auto b = parse_bool(e.value);
    if (!b) error(e, e.key + "=: '" + e.value + "' is not a boolean (true/false)");
    return b;
  }
  std::optional<int64_t> integer(const IniEntry& e) {
    auto n = parse_int(e.value);
    if (!n) error(e, e.key + "=: '" + e.value + "' is not an integer");
    return n;
  }

  // numprocs=N is `instances = N`: %(process_num)s becomes {instance}, which counts from
  // 0 (numprocs_start is reported) and is not zero-padded (a width is reported).
  void numprocs() {
    const IniEntry* n = get("numprocs");
    const IniEntry* start = get("numprocs_start");
    if (start) {
      if (auto v = integer(*start)) x_.process_num = *v;
    }
    if (n) {
      auto v = integer(*n);
      if (v && *v > 1) {
        x_.numprocs = *v;
        x_.process_num_is_instance = true;
        s_.instances = {*v, ""};
      }
    }
    if (start && x_.process_num != 0) {
      note(*start, x_.numprocs > 1 ? "superd numbers instances from 0: {instance} is 0.." +
                                         std::to_string(x_.numprocs - 1)
                                   : "");
    }
    for (const char* key : {"command", "stdout_logfile", "stderr_logfile", "environment"}) {
      const IniEntry* e = sec_.get(key);
      if (x_.process_num_is_instance && e && padded_process_num(e->value)) {
        note(*e, "%(process_num) with a width", "superd's {instance} is not padded: 3, not 03");
      }
    }
    if (const IniEntry* p = get("process_name"); p && p->value != "%(program_name)s") {
      if (x_.process_num_is_instance) {
        note(*p, "superd names the instances " + s_.name + "@0 .. " + s_.name + "@" +
                     std::to_string(x_.numprocs - 1));
        return;
      }
      note(*p, "a superd service's process is named after the service");
    }
  }

  static bool padded_process_num(const std::string& v) {
    const size_t at = v.find("%(process_num)");
    if (at == std::string::npos) return false;
    const size_t spec = at + std::string_view("%(process_num)").size();
    return spec < v.size() && std::isdigit(static_cast<unsigned char>(v[spec]));
  }

  void command() {
    const IniEntry* e = get("command");
    if (!e) {
      im_.error(s_.at, "[" + sec_.name + "] has no command= (supervisord refuses it too)");
      return;
    }
    std::string err;
    auto argv = split_shell_words(value(*e), &err);
    if (!argv) {
      error(*e, "command=: " + err);
      return;
    }
    if (argv->empty()) {
      error(*e, "command= is empty");
      return;
    }
    if (std::string why = daemonize_warning(*argv); !why.empty()) note(*e, why);
    s_.command = std::move(*argv);
  }

  void process() {
    if (const IniEntry* e = get("directory")) s_.directory = {value(*e), ""};
    if (const IniEntry* e = get("user")) s_.user = {value(*e), ""};
    if (const IniEntry* e = get("environment")) {
      std::string err;
      auto vars = parse_environment(value(*e), &err);
      if (!vars) {
        error(*e, "environment=: " + err);
      } else {
        for (auto& [k, v] : *vars) {
          if (valid_env_name(k)) s_.environment.emplace_back(k, v);
          else note(*e, "'" + k + "' in environment=", "not a variable name");
        }
      }
    }
    if (const IniEntry* e = get("umask")) {
      if (auto mask = normalize_umask(e->value)) s_.umask = {*mask, ""};
      else error(*e, "umask=: '" + e->value + "' is not an octal umask");
    }
    if (const IniEntry* e = get("autostart")) {
      if (auto b = boolean(*e)) s_.enabled = {*b, ""};
    }
    if (const IniEntry* e = get("priority")) {
      if (auto n = integer(*e)) s_.priority = static_cast<int>(*n);
    }
    if (const IniEntry* e = get("startsecs")) {
      if (auto n = integer(*e); n && *n >= 0) s_.start_seconds = {std::to_string(*n) + "s", ""};
      else if (n) error(*e, "startsecs= must not be negative");
    }
    if (const IniEntry* e = get("serverurl")) note(*e, "superd services do not talk to the supervisor");
  }

  void restart() {
    const IniEntry* e = get("autorestart");
    std::string v = e ? std::string(trim(e->value)) : "unexpected";
    for (char& c : v) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (!e) {
      s_.restart = {"on-failure", "supervisord's default (autorestart=unexpected)"};
    } else if (v == "unexpected") {
      s_.restart = {"on-failure", ""};
    } else if (auto b = parse_bool(v)) {
      s_.restart = {*b ? "always" : "never", ""};
    } else {
      error(*e, "autorestart=: '" + e->value + "' is not true, false or unexpected");
    }
    if (const IniEntry* codes = get("exitcodes")) {
      std::string c(trim(codes->value));
      if (c != "0") note(*codes, "superd counts every non-zero exit status as a failure, and only those");
    }
    const IniEntry* r = get("startretries");
    if (!r) {
      s_.start_retries = {3, "supervisord's default (startretries=3)"};
    } else if (auto n = integer(*r); n && *n >= 0) {
      s_.start_retries = {*n, ""};
    } else if (n) {
      error(*r, "startretries= must not be negative");
    }
  }

  void stop() {
    if (const IniEntry* e = get("stopsignal")) {
      if (auto sig = normalize_signal(e->value)) s_.stop_signal = {*sig, ""};
      else error(*e, "stopsignal=: '" + e->value + "' is not a signal");
    }
    const IniEntry* w = get("stopwaitsecs");
    if (!w) {
      s_.stop_timeout = {"10s", "supervisord's default (stopwaitsecs=10)"};
    } else if (auto n = integer(*w); n && *n >= 0) {
      s_.stop_timeout = {format_duration_us(static_cast<uint64_t>(*n) * 1000000), ""};
    } else if (n) {
      error(*w, "stopwaitsecs= must not be negative");
    }
    // killasgroup: superd always sends the final SIGKILL to the whole group, so both
    // values end up with no process left; stopasgroup is stop_mode.
    if (const IniEntry* g = get("stopasgroup")) {
      if (auto b = boolean(*g); b && *b) s_.stop_mode = {"group", ""};
    }
    if (const IniEntry* k = get("killasgroup")) boolean(*k);
  }

  // stdout_logfile / stderr_logfile: AUTO (the default) is superd's own log file, NONE and
  // syslog have no equivalent; redirect_stderr sends stderr to the stdout file, which is
  // superd's default.
  void logs() {
    bool redirect = false;
    if (const IniEntry* e = get("redirect_stderr")) redirect = boolean(*e).value_or(false);
    auto logfile = [&](const char* key, Opt<std::string>& target, bool ignored) -> std::string {
      const IniEntry* e = get(key);
      if (!e) return "AUTO";
      std::string v = value(*e);
      std::string upper = v;
      for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      if (ignored || upper == "AUTO") return "AUTO";
      if (upper == "NONE") {
        note(*e, "superd keeps every service's output in a log file");
        return "NONE";
      }
      if (upper == "SYSLOG") {
        note(*e, "superd writes output to log files, not to syslog");
        return "SYSLOG";
      }
      if (x_.process_num_is_instance && v.find("{instance}") == std::string::npos) {
        // One file for every instance is a --check error in superd: each gets its own.
        const size_t slash = v.rfind('/'), dot = v.rfind('.');
        const size_t at = dot != std::string::npos && (slash == std::string::npos || dot > slash + 1) ? dot : v.size();
        v.insert(at, "-{instance}");
        note(*e, "one file for every instance", "superd gives each instance its own: " + v);
      }
      target = {v, ""};
      return v;
    };
    std::string out = logfile("stdout_logfile", s_.stdout_path, false);
    Opt<std::string> err_path;
    std::string err = logfile("stderr_logfile", err_path, redirect);
    // Equal to stdout's is superd's default.
    if (err_path && !(s_.stdout_path && s_.stdout_path->value == err_path->value)) s_.stderr_path = err_path;

    const IniEntry* max = get("stdout_logfile_maxbytes");
    const IniEntry* backups = get("stdout_logfile_backups");
    if (max) {
      auto size = parse_byte_size(max->value);
      if (!size) error(*max, "stdout_logfile_maxbytes=: '" + max->value + "' is not a size");
      else if (*size == "0" || size->front() == '0') note(*max, "superd always rotates logs (default 50MB)");
      else s_.log_max_bytes = {*size, ""};
    }
    if (backups) {
      if (auto n = integer(*backups); n && *n >= 0) s_.log_backups = {*n, ""};
    }
    // One rotation setting per service: stderr's is reported when it says something else.
    for (const char* key : {"stderr_logfile_maxbytes", "stderr_logfile_backups"}) {
      const IniEntry* e = get(key);
      if (!e) continue;
      const IniEntry* same = std::string_view(key).ends_with("maxbytes") ? max : backups;
      bool separate = err != "AUTO" && err != "NONE" && !(s_.stdout_path && err == s_.stdout_path->value);
      if (!redirect && separate && (!same || trim(same->value) != trim(e->value))) {
        note(*e, "superd rotates all of a service's logs with log_max_bytes and log_backups");
      }
    }
    for (const char* key : {"stdout_capture_maxbytes", "stdout_events_enabled", "stdout_syslog",
                            "stderr_capture_maxbytes", "stderr_events_enabled", "stderr_syslog"}) {
      const IniEntry* e = get(key);
      if (!e) continue;
      auto b = parse_bool(e->value);
      if (!b || *b || std::string_view(key).ends_with("maxbytes")) note(*e, "");
    }
    (void)out;
  }

  const SourceFile& f_;
  const IniSection& sec_;
  Import& im_;
  ImportedService s_;
  Expansions x_;
  std::map<std::string, bool> handled_;
};

}  // namespace

void import_program(const SourceFile& f, const IniSection& sec, const std::string& here,
                    Import& im) {
  ProgramImport(f, sec, here, im).run();
}

}  // namespace superd::importer
