// supervisord configuration files, read the way supervisord reads them (Python's
// RawConfigParser with ';' and '#' inline comments, `%(name)s` expansion, shlex for
// command=) and translated into superd services (see import.h for the decisions).
//
// Reading follows configparser: a line is a comment when its first non-blank character is
// ';' or '#', and an inline comment starts at a ';' or '#' after whitespace; a section header
// is "[name]"; an option is "key = value" or "key: value" with the key lowercased; a line
// indented deeper than its option continues the value (joined with a newline). Duplicate
// sections and keys merge, the last value winning, as supervisord's non-strict parser does.
#include <sys/utsname.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <map>

#include "import/import.h"

namespace superd::importer {
namespace {

struct IniEntry {
  std::string key;
  std::string value;
  int line = 0;
};

struct IniSection {
  std::string name;
  int line = 0;
  std::vector<IniEntry> entries;  // in file order, duplicates kept (the last one counts)

  const IniEntry* get(std::string_view key) const {
    const IniEntry* found = nullptr;
    for (const IniEntry& e : entries) {
      if (e.key == key) found = &e;
    }
    return found;
  }
};

std::vector<IniSection> read_ini(const SourceFile& f, Import& im) {
  std::vector<IniSection> sections;
  size_t current = 0;          // the section options go to
  IniEntry* option = nullptr;  // the option a deeper-indented line continues
  size_t option_indent = 0;
  int line = 0;
  size_t pos = 0;
  std::string_view text = f.text;
  if (text.substr(0, 3) == "\xef\xbb\xbf") text.remove_prefix(3);
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    std::string raw(text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos));
    pos = nl == std::string_view::npos ? text.size() : nl + 1;
    ++line;
    if (!raw.empty() && raw.back() == '\r') raw.pop_back();
    std::string_view lead = trim(raw);
    bool comment = !lead.empty() && (lead[0] == ';' || lead[0] == '#');
    size_t cut = comment ? 0 : raw.size();
    for (size_t i = 1; i < raw.size() && !comment; ++i) {
      if ((raw[i] == ';' || raw[i] == '#') && std::isspace(static_cast<unsigned char>(raw[i - 1]))) {
        cut = i;
        break;
      }
    }
    std::string_view value = trim(std::string_view(raw).substr(0, cut));
    if (value.empty()) {
      if (!comment && option) option->value += '\n';  // an empty line inside a value
      continue;
    }
    size_t indent = raw.find_first_not_of(" \t");
    if (option && indent > option_indent) {
      option->value += '\n';
      option->value += value;
      continue;
    }
    option = nullptr;
    if (value[0] == '[' && value.find(']') != std::string_view::npos) {
      std::string name(value.substr(1, value.rfind(']') - 1));
      auto it = std::find_if(sections.begin(), sections.end(), [&](const IniSection& s) { return s.name == name; });
      if (it == sections.end()) {
        sections.push_back({name, line, {}});
        current = sections.size() - 1;
      } else {
        current = static_cast<size_t>(it - sections.begin());  // a repeated section merges
      }
      continue;
    }
    if (sections.empty()) {
      im.error({f.path, line}, "option outside of any section (a supervisord file starts with a [section])");
      continue;
    }
    size_t sep = value.find_first_of("=:");
    if (sep == std::string_view::npos) {
      im.error({f.path, line}, "expected key=value, found '" + std::string(value) + "'");
      continue;
    }
    std::string key(trim(value.substr(0, sep)));
    if (key.empty()) {
      im.error({f.path, line}, "missing key before '" + std::string(1, value[sep]) + "'");
      continue;
    }
    for (char& c : key) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    sections[current].entries.push_back({key, std::string(trim(value.substr(sep + 1))), line});
    option = &sections[current].entries.back();
    option_indent = indent;
  }
  // configparser drops the empty lines a value ends with.
  for (IniSection& s : sections) {
    for (IniEntry& e : s.entries) {
      while (!e.value.empty() && e.value.back() == '\n') e.value.pop_back();
    }
  }
  return sections;
}

std::string what(const IniEntry& e) { return e.key + "=" + shorten(e.value); }

std::optional<bool> parse_bool(std::string_view v) {
  std::string s(trim(v));
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (s == "true" || s == "yes" || s == "on" || s == "1") return true;
  if (s == "false" || s == "no" || s == "off" || s == "0") return false;
  return std::nullopt;
}

std::optional<int64_t> parse_int(std::string_view v) {
  std::string s(trim(v));
  if (s.empty() || s.size() > 12) return std::nullopt;
  size_t start = s[0] == '-' ? 1 : 0;
  if (start == s.size() || s.find_first_not_of("0123456789", start) != std::string::npos) return std::nullopt;
  return std::stoll(s);
}

// supervisord's byte_size ("50MB" is 50 * 1024 * 1024) in superd's notation.
std::optional<std::string> parse_byte_size(std::string_view v) {
  std::string s(trim(v));
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  std::string unit;
  for (std::string_view suffix : {"KB", "MB", "GB"}) {
    if (s.size() > 2 && s.substr(s.size() - 2) == suffix) {
      unit = std::string(1, suffix[0]) + "iB";
      s.resize(s.size() - 2);
    }
  }
  if (s.empty() || s.find_first_not_of("0123456789") != std::string::npos || s.size() > 15) return std::nullopt;
  return std::to_string(std::stoull(s)) + unit;
}

// The context of `%(name)s` expansion in one section.
struct Expansions {
  std::string here;  // the directory of the file
  std::string program_name;
  int64_t process_num = 0;
  int64_t numprocs = 1;
  bool program = false;
};

// Python %-formatting with named values, as supervisord's expand(): "%(ENV_HOME)s",
// "%(process_num)02d", "%%". A missing ENV_ variable is kept as written and reported; any
// other unknown name or a lone '%' is an error, as in supervisord.
std::string expand(const IniEntry& e, const Expansions& x, const std::string& file, const std::string& owner,
                   Import& im) {
  const std::string& v = e.value;
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) {
    if (v[i] != '%') {
      out += v[i];
      continue;
    }
    if (i + 1 < v.size() && v[i + 1] == '%') {
      out += '%';
      ++i;
      continue;
    }
    size_t close = i + 1 < v.size() && v[i + 1] == '(' ? v.find(')', i + 2) : std::string::npos;
    if (close == std::string::npos) {
      im.error({file, e.line}, e.key + "=: a lone '%' (write '%%' for a percent sign)");
      return v;
    }
    std::string name = v.substr(i + 2, close - i - 2);
    size_t spec_end = v.find_first_not_of("#0- +123456789.", close + 1);
    if (spec_end == std::string::npos || std::string_view("sdir").find(v[spec_end]) == std::string_view::npos) {
      im.error({file, e.line}, e.key + "=: unsupported format after %(" + name + ")");
      return v;
    }
    std::string flags = v.substr(close + 1, spec_end - close - 1);
    char conv = v[spec_end];
    std::optional<std::string> text;
    std::optional<int64_t> number;
    if (name.rfind("ENV_", 0) == 0) {
      if (const char* env = std::getenv(name.c_str() + 4)) text = env;
      if (!text) {
        im.note({file, e.line}, owner, "%(" + name + ")" + conv + " in " + e.key + "=",
                name.substr(4) + " is not set in the environment of `superd import`; left as written");
        out += v.substr(i, spec_end - i + 1);
        i = spec_end;
        continue;
      }
    } else if (name == "here") {
      text = x.here;
    } else if (x.program && (name == "program_name" || name == "group_name")) {
      text = x.program_name;
    } else if (x.program && name == "process_num") {
      number = x.process_num;
    } else if (x.program && name == "numprocs") {
      number = x.numprocs;
    } else if (x.program && name == "host_node_name") {
      struct utsname u {};
      uname(&u);
      text = u.nodename;
    } else {
      im.error({file, e.line}, e.key + "=: %(" + name + ") cannot be expanded (supervisord refuses it too)");
      return v;
    }
    std::string piece;
    if (conv == 's' || conv == 'r') {
      piece = text ? *text : std::to_string(*number);
    } else if (number) {
      piece = std::to_string(*number);
    } else {
      im.error({file, e.line}, e.key + "=: %(" + name + ")" + conv + " needs a number");
      return v;
    }
    // Width and the '0' / '-' flags, as printf does them.
    size_t digits = flags.find_first_of("123456789");
    std::string width_text = digits == std::string::npos ? "" : flags.substr(digits, flags.find('.', digits) - digits);
    if (width_text.size() > 3) {
      im.error({file, e.line}, e.key + "=: the width of %(" + name + ") is too large");
      return v;
    }
    size_t width = width_text.empty() ? 0 : std::stoul(width_text);
    if (piece.size() < width) {
      size_t pad = width - piece.size();
      if (flags.find('-') != std::string::npos) piece += std::string(pad, ' ');
      else if (flags.find('0') == 0 && conv != 's') piece = std::string(pad, '0') + piece;
      else piece = std::string(pad, ' ') + piece;
    }
    out += piece;
    i = spec_end;
  }
  return out;
}

// supervisord's environment= syntax: KEY="val",KEY2=val2 (quotes allow commas).
std::optional<std::vector<std::pair<std::string, std::string>>> parse_environment(std::string_view text,
                                                                                  std::string* error) {
  std::vector<std::pair<std::string, std::string>> vars;
  size_t i = 0;
  auto skip_space = [&] {
    while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
  };
  while (true) {
    skip_space();
    if (i >= text.size()) break;
    size_t eq = text.find('=', i);
    size_t comma = text.find(',', i);
    if (eq == std::string_view::npos || (comma != std::string_view::npos && comma < eq)) {
      *error = "expected KEY=value at '" + std::string(text.substr(i, comma == text.npos ? text.npos : comma - i)) + "'";
      return std::nullopt;
    }
    std::string key(trim(text.substr(i, eq - i)));
    i = eq + 1;
    skip_space();
    std::string value;
    if (i < text.size() && (text[i] == '"' || text[i] == '\'')) {
      size_t close = text.find(text[i], i + 1);
      if (close == std::string_view::npos) {
        *error = std::string("no closing quotation (") + text[i] + ") in the value of " + key;
        return std::nullopt;
      }
      value = std::string(text.substr(i + 1, close - i - 1));
      i = close + 1;
      skip_space();
      if (i < text.size() && text[i] != ',') {
        *error = "expected ',' after the quoted value of " + key;
        return std::nullopt;
      }
    } else {
      size_t end = text.find(',', i);
      value = std::string(trim(text.substr(i, end == std::string_view::npos ? std::string_view::npos : end - i)));
      i = end == std::string_view::npos ? text.size() : end;
    }
    if (i < text.size()) ++i;  // the comma
    auto it = std::find_if(vars.begin(), vars.end(), [&](const auto& p) { return p.first == key; });
    if (it != vars.end()) it->second = value;
    else vars.emplace_back(key, value);
  }
  return vars;
}

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
        note(*n, "superd runs one process per service: let the program run its own workers "
                 "(gunicorn --workers, celery --concurrency), or copy the service once per process");
      }
    }
    if (start && x_.numprocs <= 1 && x_.process_num != 0) note(*start, "");
    if (const IniEntry* p = get("process_name"); p && p->value != "%(program_name)s") {
      note(*p, "a superd service's process is named after the service");
    }
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

// ---- The supervisor's own sections ---------------------------------------------------------

void supervisord_section(const SourceFile& f, const IniSection& sec, const Expansions& x, Import& im) {
  const std::string owner(kSupervisorOwner);
  auto& sup = im.supervisor;
  for (const IniEntry& e : sec.entries) {
    if (sec.get(e.key) != &e) continue;
    Origin at{f.path, e.line};
    if (e.key == "childlogdir") {
      sup.log_dir = {expand(e, x, f.path, owner, im), ""};
    } else if (e.key == "loglevel") {
      std::string v(trim(e.value));
      for (char& c : v) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      static constexpr std::string_view kLevels[] = {"critical", "error", "warn", "info", "debug", "trace"};
      if (v == "blather") v = "trace";
      if (std::find(std::begin(kLevels), std::end(kLevels), v) != std::end(kLevels)) {
        sup.log_level = {v, ""};
      } else {
        im.note(at, owner, what(e), "unknown level");
      }
    } else if (e.key == "user") {
      im.note(at, owner, what(e), "superd runs as root and drops each service to its own user");
    } else if (e.key == "nodaemon") {
      im.note(at, owner, what(e), "superd always runs in the foreground, under systemd");
    } else if (e.key == "logfile" || e.key == "logfile_maxbytes" || e.key == "logfile_backups") {
      im.note(at, owner, what(e), "superd logs to its standard error, the journal under systemd");
    } else if (e.key == "pidfile") {
      im.note(at, owner, what(e), "superd runs under systemd, which knows its pid");
    } else if (e.key == "minfds" || e.key == "minprocs") {
      im.note(at, owner, what(e), "set limits per service (limits.nofile, limits.nproc)");
    } else if (e.key == "environment") {
      im.note(at, owner, what(e), "superd services do not inherit superd's environment: set it per service");
    } else {
      im.note(at, owner, what(e));
    }
  }
}

void unix_http_server_section(const SourceFile& f, const IniSection& sec, Import& im) {
  const std::string owner(kSupervisorOwner);
  for (const IniEntry& e : sec.entries) {
    if (sec.get(e.key) != &e) continue;
    Origin at{f.path, e.line};
    if (e.key == "file") {
      // Not translated: at superd's default path superctl finds the socket without -s, and
      // no supervisorctl client could talk to superd there anyway.
      im.note(at, owner, what(e), "superd keeps its socket at /run/super/super.sock, where superctl looks for it");
    } else if (e.key == "chmod") {
      im.note(at, owner, what(e), "superd creates its socket 0660, owned by root and socket_group");
    } else if (e.key == "chown") {
      std::string v(trim(e.value));
      size_t colon = v.find(':');
      std::string user = v.substr(0, colon);
      if (colon != std::string::npos && colon + 1 < v.size()) im.supervisor.socket_group = {v.substr(colon + 1), ""};
      if (user != "root" || colon == std::string::npos) {
        im.note(at, owner, what(e), "the socket is owned by root; members of socket_group may use it");
      }
    } else if (e.key == "username" || e.key == "password") {
      im.note(at, owner, e.key + "=...", "superd authorizes by the client's credentials: root and socket_group");
    } else {
      im.note(at, owner, what(e));
    }
  }
}

}  // namespace

std::vector<Include> import_supervisord(const SourceFile& f, Import& im) {
  std::vector<Include> includes;
  size_t errors = im.errors.size();
  std::vector<IniSection> sections = read_ini(f, im);
  // After a syntax error only the section names are still checked, so that every error
  // of the file shows at once without errors that follow from the first.
  const bool translate = im.errors.size() == errors;

  Expansions x;
  x.here = std::filesystem::absolute(f.path).parent_path().lexically_normal().string();
  if (x.here.size() > 1 && x.here.back() == '/') x.here.pop_back();
  for (const IniSection& sec : sections) {
    const std::string& n = sec.name;
    Origin at{f.path, sec.line};
    auto whole_section = [&](std::string owner, std::string why) {
      im.note(at, std::move(owner), "[" + n + "]", std::move(why));
    };
    const bool known = n.rfind("program:", 0) == 0 || n.rfind("group:", 0) == 0 || n == "supervisord" ||
                       n == "unix_http_server" || n == "inet_http_server" || n == "supervisorctl" ||
                       n.rfind("rpcinterface:", 0) == 0 || n.rfind("eventlistener:", 0) == 0 ||
                       n.rfind("fcgi-program:", 0) == 0 || n == "include";
    if (!known) {
      im.error(at, "unknown section [" + n + "] (expected [program:NAME], [group:NAME], [supervisord], "
                   "[unix_http_server], [supervisorctl], [include], ...)");
      continue;
    }
    if (!translate) continue;
    if (n.rfind("program:", 0) == 0) {
      ProgramImport(f, sec, x.here, im).run();
    } else if (n.rfind("group:", 0) == 0) {
      const IniEntry* programs = sec.get("programs");
      std::string list = programs ? programs->value : "";
      std::replace(list.begin(), list.end(), ',', ' ');
      std::string names;
      for (char c : list) names += (c == '\n') ? ' ' : c;
      whole_section("", "superd has no process groups: its programs are separate services; `superctl restart " +
                            std::string(trim(names)) + "` acts on them together");
    } else if (n == "supervisord") {
      supervisord_section(f, sec, x, im);
    } else if (n == "unix_http_server") {
      unix_http_server_section(f, sec, im);
    } else if (n == "inet_http_server") {
      whole_section(std::string(kSupervisorOwner), "superd is controlled through its Unix socket only");
    } else if (n == "supervisorctl") {
      whole_section(std::string(kSupervisorOwner), "superctl needs no configuration: `superctl -s SOCKET`");
    } else if (n.rfind("rpcinterface:", 0) == 0) {
      whole_section(std::string(kSupervisorOwner), "superd's control protocol is built in");
    } else if (n.rfind("eventlistener:", 0) == 0) {
      whole_section("", "superd has no event listeners");
    } else if (n.rfind("fcgi-program:", 0) == 0) {
      whole_section("", "superd does not spawn FastCGI programs; a `listen` socket is passed to one process");
    } else if (n == "include") {
      for (const IniEntry& e : sec.entries) {
        if (e.key != "files") {
          im.note({f.path, e.line}, "", what(e));
          continue;
        }
        std::string err;
        std::string files = expand(e, x, f.path, "", im);
        for (const std::string& pattern : split_shell_words(files, &err).value_or(std::vector<std::string>{})) {
          // Relative to the including file, shown as a path from where its own was given.
          std::string dir = std::filesystem::path(f.path).parent_path().string();
          std::string path = pattern[0] == '/' || dir.empty() ? pattern : dir + "/" + pattern;
          includes.push_back({path, {f.path, e.line}});
        }
      }
    }
  }
  if (im.errors.size() == errors && sections.empty()) {
    im.error({f.path, 0}, "not a supervisord configuration: no [program:NAME] or [supervisord] section");
  }
  return includes;
}

}  // namespace superd::importer
