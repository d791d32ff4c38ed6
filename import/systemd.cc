// systemd .service and .socket units, read the way systemd's config parser reads them and
// translated into superd services (see import.h for the decisions).
//
// Reading follows src/shared/conf-parser.c: a line ending in an unescaped backslash
// continues on the next one (the backslash becomes a space, the next line is appended as
// is), comment lines (#, ;) are skipped even inside a continuation, keys and values are
// trimmed, and an empty assignment ("Environment=") resets the list built so far. Where
// systemd only warns and goes on (an assignment outside a section, a line without '=', an
// unknown section), the importer refuses the file: an import that silently loses a line is
// worse than one that asks for the file to be fixed.
#include <algorithm>
#include <cctype>
#include <filesystem>
#include <map>
#include <set>

#include "import/import.h"

namespace superd::importer {
namespace {

struct Entry {
  std::string section;
  std::string key;
  std::string value;
  int line = 0;
};

struct Section {
  std::string name;
  int line = 0;
};

struct UnitText {
  std::vector<Section> sections;
  std::vector<Entry> entries;
};

bool has_suffix(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// ---- Reading -------------------------------------------------------------------------------

void parse_line(std::string_view text, int line, const std::string& file, UnitText& unit, Import& im) {
  text = trim(text);
  if (text.empty() || text[0] == '#' || text[0] == ';') return;
  if (text[0] == '[') {
    if (text.back() != ']' || text.size() < 3) {
      im.error({file, line}, "invalid section header '" + std::string(text) + "'");
      return;
    }
    unit.sections.push_back({std::string(text.substr(1, text.size() - 2)), line});
    return;
  }
  if (unit.sections.empty()) {
    im.error({file, line}, "assignment outside of any section: '" + std::string(text) + "'");
    return;
  }
  size_t eq = text.find('=');
  if (eq == std::string_view::npos) {
    im.error({file, line}, "expected Key=Value, found '" + std::string(text) + "'");
    return;
  }
  std::string key(trim(text.substr(0, eq)));
  if (key.empty()) {
    im.error({file, line}, "missing key before '=' in '" + std::string(text) + "'");
    return;
  }
  unit.entries.push_back({unit.sections.back().name, key, std::string(trim(text.substr(eq + 1))), line});
}

UnitText read_unit(const SourceFile& f, Import& im) {
  UnitText unit;
  std::string_view text = f.text;
  if (text.substr(0, 3) == "\xef\xbb\xbf") text.remove_prefix(3);
  std::string continuation;
  int continuation_line = 0;
  int line = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    std::string_view raw = text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    pos = nl == std::string_view::npos ? text.size() : nl + 1;
    ++line;
    while (!raw.empty() && (raw.back() == '\r' || raw.back() == '\n')) raw.remove_suffix(1);
    std::string_view lead = trim(raw);
    if (!lead.empty() && (lead[0] == '#' || lead[0] == ';')) continue;
    std::string joined = continuation.empty() ? std::string(raw) : continuation + std::string(raw);
    int start = continuation.empty() ? line : continuation_line;
    bool escaped = false;
    for (char c : joined) escaped = escaped ? false : c == '\\';
    if (escaped) {
      joined.back() = ' ';
      continuation = std::move(joined);
      continuation_line = start;
      continue;
    }
    continuation.clear();
    parse_line(joined, start, f.path, unit, im);
  }
  if (!continuation.empty()) parse_line(continuation, continuation_line, f.path, unit, im);
  return unit;
}

// ---- Values --------------------------------------------------------------------------------

// The entries of one key after systemd's rules: an empty assignment drops what came before.
class Assignments {
 public:
  explicit Assignments(const UnitText& unit) {
    for (const Entry& e : unit.entries) {
      auto k = std::make_pair(e.section, e.key);
      if (!by_key_.count(k)) order_.push_back(k);
      auto& list = by_key_[k];
      if (e.value.empty()) {
        list.clear();
      } else {
        list.push_back(&e);
      }
    }
  }
  // Every (non-reset) assignment of section/key; marks the key as handled.
  std::vector<const Entry*> all(const std::string& section, const std::string& key) {
    handled_.insert({section, key});
    auto it = by_key_.find({section, key});
    return it == by_key_.end() ? std::vector<const Entry*>{} : it->second;
  }
  // The assignment that counts for a single-valued key: the last one.
  const Entry* last(const std::string& section, const std::string& key) {
    auto list = all(section, key);
    return list.empty() ? nullptr : list.back();
  }
  // Entries of keys no handler asked for, in file order.
  std::vector<const Entry*> unhandled() const {
    std::vector<const Entry*> out;
    for (const auto& k : order_) {
      if (handled_.count(k)) continue;
      for (const Entry* e : by_key_.at(k)) out.push_back(e);
    }
    std::sort(out.begin(), out.end(), [](const Entry* a, const Entry* b) { return a->line < b->line; });
    return out;
  }

 private:
  std::map<std::pair<std::string, std::string>, std::vector<const Entry*>> by_key_;
  std::vector<std::pair<std::string, std::string>> order_;
  std::set<std::pair<std::string, std::string>> handled_;
};

std::string what(const Entry& e) { return e.key + "=" + shorten(e.value); }

// Keys of whole families that superd does not do, with the reason said once for all.
std::string family_reason(std::string_view key) {
  static constexpr std::string_view kSandbox[] = {
      "Private", "Protect", "Restrict", "ReadOnly", "ReadWrite", "Inaccessible", "NoExec", "Exec",
      "Capability", "AmbientCapabilities", "NoNewPrivileges", "SystemCall", "MemoryDeny",
      "LockPersonality", "DynamicUser", "RootDirectory", "RootImage", "BindPaths", "BindReadOnly",
      "TemporaryFileSystem", "IPAddress", "DevicePolicy", "DeviceAllow", "KeyringMode", "RemoveIPC"};
  static constexpr std::string_view kCgroup[] = {"Memory", "CPU", "IO", "Tasks", "Startup", "Allowed",
                                                 "Delegate", "Slice", "BlockIO", "ManagedOOM", "OOM"};
  static constexpr std::string_view kDirs[] = {"RuntimeDirectory", "StateDirectory", "CacheDirectory",
                                               "LogsDirectory", "ConfigurationDirectory"};
  for (auto p : kDirs) {
    if (key.substr(0, p.size()) == p) return "superd does not create directories: create it at deploy time";
  }
  for (auto p : kSandbox) {
    if (key.substr(0, p.size()) == p) return "superd does not sandbox services";
  }
  for (auto p : kCgroup) {
    if (key.substr(0, p.size()) == p) return "superd does not manage cgroup resources";
  }
  if (key.substr(0, 9) == "Condition" || key.substr(0, 6) == "Assert") return "superd has no start conditions";
  return {};
}

// Parses a Limit*= value: "65536", "infinity", "1024:4096", "8M" (byte limits), "1h" (CPU).
std::optional<std::string> limit_value(std::string_view name, std::string_view text) {
  text = trim(text);
  if (text == "infinity") return std::string("infinity");
  static constexpr std::string_view kBytes[] = {"fsize", "data", "stack", "core", "rss", "as", "memlock",
                                                "msgqueue"};
  auto digits = [](std::string_view s) { return !s.empty() && s.find_first_not_of("0123456789") == s.npos; };
  if (std::find(std::begin(kBytes), std::end(kBytes), name) != std::end(kBytes)) {
    static constexpr std::string_view kSuffixes = "BKMGTPE";
    size_t end = text.find_first_not_of("0123456789");
    std::string_view number = text.substr(0, end);
    std::string_view suffix = end == text.npos ? std::string_view{} : text.substr(end);
    if (!digits(number) || number.size() > 18 || suffix.size() > 1) return std::nullopt;
    unsigned __int128 value = std::stoull(std::string(number));
    if (!suffix.empty()) {
      size_t k = kSuffixes.find(suffix[0]);
      if (k == kSuffixes.npos) return std::nullopt;
      for (size_t i = 0; i < k; ++i) value *= 1024;
    }
    if (value > static_cast<unsigned __int128>(INT64_MAX)) return std::nullopt;
    return std::to_string(static_cast<uint64_t>(value));
  }
  if (name == "cpu" || name == "rttime") {
    if (digits(text)) return text.size() > 18 ? std::nullopt : std::optional<std::string>(text);  // s, or µs
    auto us = parse_timespan_us(text);
    if (!us) return std::nullopt;
    if (name == "rttime") return std::to_string(*us);
    return std::to_string(*us / 1000000 + (*us % 1000000 ? 1 : 0));
  }
  if (name == "nice" && !text.empty() && (text[0] == '+' || text[0] == '-')) {
    if (!digits(text.substr(1)) || text.size() > 3) return std::nullopt;
    int nice = std::stoi(std::string(text));
    if (nice < -20 || nice > 19) return std::nullopt;
    return std::to_string(20 - nice);
  }
  if (!digits(text) || text.size() > 18) return std::nullopt;
  return std::string(text);
}

// "/bin/kill -s HUP $MAINPID" (or -HUP, -SIGHUP, --signal HUP, no signal: TERM) -> "HUP".
std::optional<std::string> kill_mainpid_signal(std::vector<std::string> argv) {
  if (argv.empty() || std::filesystem::path(argv[0]).filename() != "kill") return std::nullopt;
  if (argv.back() != "$MAINPID" && argv.back() != "${MAINPID}") return std::nullopt;
  if (argv.size() == 2) return std::string("TERM");
  if (argv.size() == 3 && argv[1].size() > 1 && argv[1][0] == '-') return normalize_signal(argv[1].substr(1));
  if (argv.size() == 4 && (argv[1] == "-s" || argv[1] == "--signal")) return normalize_signal(argv[2]);
  return std::nullopt;
}

// ---- One service unit ----------------------------------------------------------------------

class ServiceImport {
 public:
  ServiceImport(const SourceFile& f, const UnitText& unit, std::string unit_name, Import& im)
      : f_(f), unit_(unit), a_(unit), im_(im) {
    s_.unit = std::move(unit_name);
    s_.name = s_.unit.substr(0, s_.unit.size() - std::string_view(".service").size());
    s_.at = {f.path, 0};
    s_.kind = SourceKind::systemd;
  }

  void run() {
    size_t errors = im_.errors.size();
    context();
    unit_section();
    type();
    environment();  // before ExecStart=, whose variables come from it
    exec_start();
    user_and_directory();
    process_keys();
    restart_keys();
    stop_keys();
    reload();
    output();
    install_section();
    for (const Entry* e : a_.unhandled()) note(*e, family_reason(e->key));
    if (im_.errors.size() == errors) im_.services.push_back(std::move(s_));
  }

 private:
  void note(const Entry& e, std::string why) { note(e, what(e), std::move(why)); }
  void note(const Entry& e, std::string w, std::string why) {
    im_.note({f_.path, e.line}, s_.name, std::move(w), std::move(why));
  }
  void error(const Entry& e, std::string message) { im_.error({f_.path, e.line}, std::move(message)); }

  // What the other keys depend on: User= for %u, Environment= for $VAR, the Type.
  void context() {
    for (const Entry* e : a_.all("Service", "User")) user_ = e->value;
  }

  // systemd's %-specifiers that have one meaning wherever the unit runs; others are kept as
  // written and reported.
  std::string specifiers(const Entry& e) {
    std::string out;
    const std::string& v = e.value;
    std::string stem = s_.name;
    std::string prefix = stem.substr(0, stem.find('@'));
    std::string instance = stem.find('@') == std::string::npos ? "" : stem.substr(stem.find('@') + 1);
    for (size_t i = 0; i < v.size(); ++i) {
      if (v[i] != '%' || i + 1 >= v.size()) {
        out += v[i];
        continue;
      }
      char c = v[++i];
      switch (c) {
        case '%': out += '%'; break;
        case 'n': out += s_.unit; break;
        case 'N': out += stem; break;
        case 'p': out += prefix; break;
        case 'i': case 'I': out += instance; break;
        case 't': out += "/run"; break;
        case 'S': out += "/var/lib"; break;
        case 'C': out += "/var/cache"; break;
        case 'L': out += "/var/log"; break;
        case 'E': out += "/etc"; break;
        case 'T': out += "/tmp"; break;
        case 'V': out += "/var/tmp"; break;
        case 'u': out += user_.empty() ? "root" : user_; break;
        default:
          out += '%';
          out += c;
          note(e, std::string("%") + c + " in " + e.key + "=",
               "this specifier has no value before the service runs; left as written");
      }
    }
    return out;
  }

  void unit_section() {
    for (const char* key : {"Description", "Documentation"}) {
      for (const Entry* e : a_.all("Unit", key)) s_.comments.push_back(std::string(key) + ": " + e->value);
    }
    for (const char* key : {"After", "Before", "Requires", "Wants", "BindsTo", "Requisite"}) {
      for (const Entry* e : a_.all("Unit", key)) {
        std::string err;
        auto units = split_systemd_words(specifiers(*e), &err);
        if (!units) {
          error(*e, key + std::string("=: ") + err);
          continue;
        }
        for (const std::string& u : *units) s_.refs.push_back({key, u, {f_.path, e->line}});
      }
    }
    // StartLimitBurst= moved from [Service] to [Unit] in systemd 230; both are read.
    for (const char* section : {"Service", "Unit"}) {
      if (const Entry* e = a_.last(section, "StartLimitBurst")) {
        if (e->value.find_first_not_of("0123456789") == std::string::npos && e->value.size() < 10) {
          s_.start_retries = {std::stoll(e->value), ""};
        } else {
          note(*e, "not a number");
        }
      }
    }
  }

  void type() {
    const Entry* e = a_.last("Service", "Type");
    type_ = e ? e->value : "simple";
    if (!e || type_ == "simple" || type_ == "exec") return;
    if (type_ == "notify" || type_ == "notify-reload") {
      s_.ready = {"notify", ""};
      if (type_ == "notify-reload") s_.reload_signal = {"HUP", ""};
      if (const Entry* n = a_.last("Service", "NotifyAccess"); n && n->value != "main") {
        note(*n, "superd takes READY=1 from the main process");
      }
    } else if (type_ == "forking") {
      note(*e, "superd supervises the process it starts, which must stay in the foreground: "
               "run the program without its daemon option");
    } else if (type_ == "oneshot") {
      note(*e, "superd supervises long-running processes; run a one-shot task from a script");
    } else if (type_ == "idle") {
      note(*e, "started at once, as Type=simple");
    } else if (type_ == "dbus") {
      note(*e, "superd does not watch D-Bus names: started as Type=simple");
    } else {
      note(*e, "unknown Type=; started as Type=simple");
    }
    if (const Entry* r = a_.last("Service", "ReloadSignal")) {
      if (auto sig = normalize_signal(r->value); sig && type_ == "notify-reload") {
        s_.reload_signal = {*sig, ""};
      } else {
        note(*r, sig ? "only Type=notify-reload uses it" : "unknown signal");
      }
    }
  }

  void exec_start() {
    auto lines = a_.all("Service", "ExecStart");
    if (lines.empty()) {
      im_.error({f_.path, 0}, "no ExecStart= in [Service]: nothing to run (systemd refuses such a unit too)");
      return;
    }
    if (lines.size() > 1 && type_ != "oneshot") {
      error(*lines[1], "more than one ExecStart= (systemd allows that only with Type=oneshot)");
      return;
    }
    for (size_t i = 1; i < lines.size(); ++i) note(*lines[i], "superd runs one command per service");
    const Entry& e = *lines[0];
    std::string err;
    auto words = split_systemd_words(specifiers(e), &err);
    if (!words) {
      error(e, "ExecStart=: " + err);
      return;
    }
    if (words->empty()) {
      error(e, "ExecStart= has no command");
      return;
    }
    std::string& first = words->front();
    size_t n = first.find_first_not_of("-@:+!|");
    std::string prefixes = first.substr(0, n == std::string::npos ? first.size() : n);
    first.erase(0, prefixes.size());
    if (first.empty()) {
      error(e, "ExecStart= has a prefix but no command");
      return;
    }
    if (prefixes.find('@') != std::string::npos) {
      if (words->size() < 2) {
        error(e, "ExecStart=@ needs an argv[0] after the command");
        return;
      }
      note(e, "the '@' prefix of ExecStart=", "superd passes the command itself as argv[0]; '" + (*words)[1] + "' dropped");
      words->erase(words->begin() + 1);
    }
    if (prefixes.find('-') != std::string::npos) {
      note(e, "the '-' prefix of ExecStart=", "superd counts a failed start as a failure");
    }
    if (prefixes.find('+') != std::string::npos || prefixes.find('!') != std::string::npos) {
      note(e, "the '" + std::string(prefixes.find('+') != std::string::npos ? "+" : "!") + "' prefix of ExecStart=",
           "superd runs the command as the service's user, without extra privileges");
    }
    if (prefixes.find('|') != std::string::npos) {
      note(e, "the '|' prefix of ExecStart=", "superd does not run the command through the user's shell");
    }
    // ':' turns off variable expansion, which superd never does: nothing to report.
    if (prefixes.find(':') == std::string::npos) expand_variables(e, *words);
    if (std::string why = daemonize_warning(*words); !why.empty()) note(e, why);
    s_.command = std::move(*words);
  }

  // systemd's replace_env_argv: "$VAR" as a whole word becomes the value split at
  // whitespace, "${VAR}" anywhere becomes the value, "$$" a '$'. Values come from
  // Environment=; what cannot be resolved is kept and reported, except in a `sh -c` script.
  void expand_variables(const Entry& e, std::vector<std::string>& argv) {
    const bool shell = is_shell_command(argv);
    std::vector<std::string> out;
    std::vector<std::string> unresolved;
    auto lookup = [&](const std::string& name) -> const std::string* {
      for (const auto& [k, v] : env_) {
        if (k == name) return &v;
      }
      return nullptr;
    };
    for (size_t i = 0; i < argv.size(); ++i) {
      const std::string& w = argv[i];
      const bool script = shell && i == 2;
      if (w.size() > 1 && w[0] == '$' && w[1] != '{' && w[1] != '$') {
        if (const std::string* v = lookup(w.substr(1))) {
          std::string err;
          for (std::string& part : split_systemd_words(*v, &err).value_or(std::vector<std::string>{*v})) {
            out.push_back(std::move(part));
          }
        } else {
          unresolved.push_back(w);
          out.push_back(w);
        }
        continue;
      }
      std::string r;
      for (size_t k = 0; k < w.size(); ++k) {
        if (w[k] == '$' && k + 1 < w.size() && w[k + 1] == '$') {
          r += '$';
          ++k;
          continue;
        }
        size_t close = w[k] == '$' && k + 1 < w.size() && w[k + 1] == '{' ? w.find('}', k + 2) : std::string::npos;
        if (close == std::string::npos) {
          r += w[k];
          continue;
        }
        std::string inner = w.substr(k + 2, close - k - 2);
        std::string name = inner.substr(0, inner.find(':'));
        std::string op = inner.size() > name.size() + 1 ? inner.substr(name.size(), 2) : "";
        const std::string* v = lookup(name);
        if (!valid_env_name(name) || (!v && !script)) {
          unresolved.push_back("${" + inner + "}");
          r += w.substr(k, close - k + 1);
        } else if (!v) {
          r += w.substr(k, close - k + 1);  // the shell expands it at start
        } else if (op == ":-") {
          r += v->empty() ? inner.substr(name.size() + 2) : *v;
        } else if (op == ":+") {
          r += v->empty() ? "" : inner.substr(name.size() + 2);
        } else {
          r += *v;
        }
        k = close;
      }
      out.push_back(std::move(r));
    }
    std::set<std::string> seen;
    for (const std::string& u : unresolved) {
      if (!seen.insert(u).second) continue;
      note(e, u + " in ExecStart=",
           "not set by Environment=, and superd does not expand variables in `command`: "
           "write the value, or run the command through /bin/sh -c");
    }
    argv = std::move(out);
  }

  void user_and_directory() {
    if (const Entry* e = a_.last("Service", "User")) s_.user = {specifiers(*e), ""};
    if (const Entry* e = a_.last("Service", "Group")) s_.group = {specifiers(*e), ""};
    for (const Entry* e : a_.all("Service", "SupplementaryGroups")) {
      note(*e, "superd gives a service the groups of its user in the user database (initgroups)");
    }
    const Entry* wd = a_.last("Service", "WorkingDirectory");
    if (!wd) {
      s_.directory = {"/", "systemd's default"};
      return;
    }
    std::string dir = specifiers(*wd);
    if (!dir.empty() && dir[0] == '-') {
      dir.erase(0, 1);
      note(*wd, "the '-' prefix of WorkingDirectory=", "superd requires the directory to exist");
    }
    if (dir == "~") return;  // the user's home: superd's default
    if (dir.empty() || dir[0] != '/') {
      note(*wd, "not an absolute path");
      return;
    }
    s_.directory = {dir, ""};
  }

  void environment() {
    for (const Entry* e : a_.all("Service", "Environment")) {
      std::string err;
      auto words = split_systemd_words(specifiers(*e), &err);
      if (!words) {
        error(*e, "Environment=: " + err);
        continue;
      }
      for (const std::string& w : *words) {
        size_t eq = w.find('=');
        if (eq == std::string::npos || !valid_env_name(w.substr(0, eq))) {
          note(*e, "'" + w + "' in Environment=", "not a NAME=VALUE assignment (systemd ignores it too)");
          continue;
        }
        std::string name = w.substr(0, eq), value = w.substr(eq + 1);
        auto it = std::find_if(env_.begin(), env_.end(), [&](const auto& p) { return p.first == name; });
        if (it != env_.end()) {
          it->second = value;
        } else {
          env_.emplace_back(name, value);
        }
      }
    }
    s_.environment = env_;
    // Variables are expanded in ExecStart= from the whole unit, wherever they are set.
    bool first = true;
    for (const Entry* e : a_.all("Service", "EnvironmentFile")) {
      std::string path = specifiers(*e);
      if (!path.empty() && path[0] == '-') {
        path.erase(0, 1);
        note(*e, "the '-' prefix of EnvironmentFile=", "superd fails the start when env_file is missing");
      }
      if (!first) {
        note(*e, "superd reads one env_file per service");
        continue;
      }
      first = false;
      s_.env_file = {path, ""};
    }
    for (const Entry* e : a_.all("Service", "PassEnvironment")) {
      note(*e, "superd builds a service's environment from environment and env_file only");
    }
  }

  void process_keys() {
    if (const Entry* e = a_.last("Service", "UMask")) {
      if (auto mask = normalize_umask(e->value)) {
        s_.umask = {*mask, ""};
      } else {
        note(*e, "not an octal umask");
      }
    }
    static constexpr std::string_view kLimits[] = {"cpu",   "fsize", "data",       "stack",    "core",  "rss",
                                                   "nofile", "as",    "nproc",      "memlock",  "locks", "sigpending",
                                                   "msgqueue", "nice", "rtprio",    "rttime"};
    std::vector<std::string> keys;  // in file order
    for (const Entry& e : unit_.entries) {
      if (e.section != "Service" || e.key.rfind("Limit", 0) != 0) continue;
      if (std::find(keys.begin(), keys.end(), e.key) == keys.end()) keys.push_back(e.key);
    }
    for (const std::string& key : keys) {
      std::string name = key.substr(5);
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (std::find(std::begin(kLimits), std::end(kLimits), name) == std::end(kLimits)) continue;  // reported
      const Entry* e = a_.last("Service", key);
      if (!e) continue;
      size_t colon = e->value.find(':');
      auto soft = limit_value(name, std::string_view(e->value).substr(0, colon));
      auto hard = colon == std::string::npos ? soft : limit_value(name, std::string_view(e->value).substr(colon + 1));
      if (!soft || !hard) {
        note(*e, "not a limit value");
        continue;
      }
      if (*soft != *hard) note(*e, "superd sets the soft and hard limit to one value: " + *hard + ", the hard one");
      s_.limits.emplace_back(name, *hard);
    }
  }

  void restart_keys() {
    const Entry* e = a_.last("Service", "Restart");
    std::string v = e ? e->value : "no";
    if (!e) {
      s_.restart = {"never", "systemd's default (Restart=no)"};
    } else if (v == "no") {
      s_.restart = {"never", ""};
    } else if (v == "always" || v == "on-failure") {
      s_.restart = {v, ""};
    } else if (v == "on-abnormal" || v == "on-abort") {
      s_.restart = {"on-failure", ""};
      note(*e, "imported as restart = \"on-failure\", which also restarts after an exit with a non-zero status");
    } else if (v == "on-success") {
      s_.restart = {"always", ""};
      note(*e, "imported as restart = \"always\", which also restarts after a failure");
    } else if (v == "on-watchdog") {
      s_.restart = {"never", ""};
      note(*e, "superd has no watchdog: imported as restart = \"never\"; a `health` check restarts a "
               "service that stops answering");
    } else {
      s_.restart = {"never", ""};
      note(*e, "unknown value: imported as restart = \"never\"");
    }
    if (const Entry* r = a_.last("Service", "RestartSec")) {
      auto us = parse_timespan_us(r->value);
      if (!us || *us == UINT64_MAX) {
        note(*r, "not a time span");
      } else {
        s_.backoff_initial = {format_duration_us(*us), ""};
        // systemd waits RestartSec every time; superd doubles it up to backoff.max (30s).
        if (*us > 30000000) s_.backoff_max = {format_duration_us(*us), ""};
      }
    }
    if (const Entry* r = a_.last("Service", "RestartMaxDelaySec")) {
      auto us = parse_timespan_us(r->value);
      if (!us || *us == UINT64_MAX) {
        note(*r, "superd's backoff always has a maximum");
      } else {
        s_.backoff_max = {format_duration_us(*us), ""};
      }
    }
    for (const char* section : {"Unit", "Service"}) {
      for (const char* key : {"StartLimitIntervalSec", "StartLimitInterval"}) {
        for (const Entry* r : a_.all(section, key)) {
          note(*r, "superd counts quick failures in a row (shorter than start_seconds), not starts per interval");
        }
      }
    }
    for (const char* key : {"SuccessExitStatus", "RestartPreventExitStatus", "RestartForceExitStatus"}) {
      for (const Entry* r : a_.all("Service", key)) note(*r, "superd counts every non-zero exit status as a failure");
    }
    for (const Entry* r : a_.all("Service", "WatchdogSec")) {
      note(*r, "superd has no watchdog; a `health` check restarts a service that stops answering");
    }
  }

  void stop_keys() {
    const Entry* sig = a_.last("Service", "KillSignal");
    if (sig) {
      if (auto name = normalize_signal(sig->value)) {
        s_.stop_signal = {*name, ""};
      } else {
        note(*sig, "unknown signal");
      }
    }
    for (const Entry* e : a_.all("Service", "ExecStop")) {
      std::string err;
      auto words = split_systemd_words(e->value, &err).value_or(std::vector<std::string>{});
      if (!words.empty()) words[0].erase(0, words[0].find_first_not_of("-@:+!|"));
      auto stop = kill_mainpid_signal(words);
      if (stop && (!s_.stop_signal || s_.stop_signal->value == *stop)) {
        s_.stop_signal = {*stop, ""};
      } else {
        note(*e, "superd stops a service by sending stop_signal");
      }
    }
    const Entry* mode = a_.last("Service", "KillMode");
    std::string m = mode ? mode->value : "control-group";
    if (m == "control-group") {
      s_.stop_mode = {"group", mode ? "" : "systemd's default (KillMode=control-group)"};
    } else if (m == "mixed") {
      s_.stop_mode = {"main", ""};
    } else {
      s_.stop_mode = {"main", ""};
      note(*mode, "superd signals the main process, then kills whatever is left of its process group: "
                  "no process of a stopped service remains");
    }
    for (const Entry* e : a_.all("Service", "SendSIGKILL")) {
      note(*e, "superd always sends SIGKILL to the process group after stop_timeout");
    }
    const Entry* timeout = a_.last("Service", "TimeoutStopSec");
    const Entry* both = a_.last("Service", "TimeoutSec");
    if (both && (!timeout || both->line > timeout->line)) timeout = both;
    if (both && s_.ready) note(*both, "the start part of TimeoutSec=", "superd's start timeout is the `ready` check's timeout");
    if (const Entry* e = a_.last("Service", "TimeoutStartSec")) {
      note(*e, "superd's start timeout is the `ready` check's timeout");
    }
    if (!timeout) {
      s_.stop_timeout = {"90s", "systemd's default (TimeoutStopSec=90s)"};
      return;
    }
    auto us = parse_timespan_us(timeout->value);
    if (!us) {
      note(*timeout, "not a time span");
    } else if (*us == 0 || *us == UINT64_MAX) {
      note(*timeout, "superd always ends a stop with SIGKILL after stop_timeout (default 30s)");
    } else {
      s_.stop_timeout = {format_duration_us(*us), ""};
    }
  }

  void reload() {
    auto lines = a_.all("Service", "ExecReload");
    for (size_t i = 0; i < lines.size(); ++i) {
      const Entry& e = *lines[i];
      std::string err;
      auto words = split_systemd_words(e.value, &err).value_or(std::vector<std::string>{});
      if (!words.empty()) words[0].erase(0, words[0].find_first_not_of("-@:+!|"));
      auto sig = kill_mainpid_signal(words);
      if (sig && lines.size() == 1) {
        s_.reload_signal = {*sig, ""};
      } else {
        note(e, "superd reloads a service by sending reload_signal to its main process");
      }
    }
    for (const char* key : {"ExecStartPre", "ExecStartPost", "ExecStopPost", "ExecCondition"}) {
      for (const Entry* e : a_.all("Service", key)) note(*e, "superd runs one command per service");
    }
    for (const Entry* e : a_.all("Service", "PIDFile")) {
      note(*e, "superd knows the pid of the process it starts");
    }
  }

  void output() {
    for (const char* key : {"StandardOutput", "StandardError"}) {
      const Entry* e = a_.last("Service", key);
      if (!e) continue;
      std::string v = specifiers(*e);
      auto& target = std::string_view(key) == "StandardOutput" ? s_.stdout_path : s_.stderr_path;
      if (v.rfind("append:", 0) == 0 || v.rfind("file:", 0) == 0) {
        target = {v.substr(v.find(':') + 1), ""};
      } else if (v.rfind("truncate:", 0) == 0) {
        target = {v.substr(v.find(':') + 1), ""};
        note(*e, "superd appends to the log file");
      } else {
        note(*e, "superd writes a service's output to its log files (stdout, stderr)");
      }
    }
  }

  void install_section() {
    for (const Entry* e : a_.all("Install", "WantedBy")) {
      std::string err;
      for (const std::string& target : split_systemd_words(e->value, &err).value_or(std::vector<std::string>{})) {
        if (target != "multi-user.target" && target != "default.target" && target != "graphical.target") {
          note(*e, "WantedBy=" + target, "superd starts every enabled service at boot");
        }
      }
    }
  }

  const SourceFile& f_;
  const UnitText& unit_;
  Assignments a_;
  Import& im_;
  ImportedService s_;
  std::string user_;
  std::string type_ = "simple";
  std::vector<std::pair<std::string, std::string>> env_;
};

// ---- One socket unit -----------------------------------------------------------------------

void import_socket(const SourceFile& f, const UnitText& unit, const std::string& unit_name, Import& im) {
  Assignments a(unit);
  SocketUnit sock;
  sock.unit = unit_name;
  sock.service = unit_name.substr(0, unit_name.size() - std::string_view(".socket").size()) + ".service";
  sock.at = {f.path, 0};
  for (const Section& s : unit.sections) {
    if (s.name == "Socket") {
      sock.at.line = s.line;
      break;
    }
  }
  auto note = [&](const Entry& e, std::string w, std::string why) {
    im.note({f.path, e.line}, "", std::move(w), std::move(why));
  };
  for (const char* key : {"Description", "Documentation"}) {
    for (const Entry* e : a.all("Unit", key)) sock.comments.push_back(std::string(key) + ": " + e->value + " (" + unit_name + ")");
  }
  if (const Entry* e = a.last("Socket", "Service")) sock.service = e->value;
  if (const Entry* e = a.last("Socket", "Accept")) {
    std::string v = e->value;
    if (v != "no" && v != "false" && v != "0" && v != "off") {
      note(*e, what(*e), "superd passes the listening socket to one long-running process, not one process per connection");
    }
  }
  // systemd's any-address socket ("8000", "[::]:8000") takes IPv4 too unless
  // BindIPv6Only=ipv6-only; superd's IPv6 sockets are IPv6-only, so it takes two.
  bool v6only = false;
  if (const Entry* e = a.last("Socket", "BindIPv6Only")) v6only = e->value == "ipv6-only";
  static const std::string kOwnership =
      "superd makes a Unix listen socket the service user's and primary group's, mode 0660";
  for (const Entry* e : a.all("Socket", "ListenStream")) {
    const std::string& v = e->value;
    bool port_only = !v.empty() && v.find_first_not_of("0123456789") == std::string::npos;
    if (!v.empty() && v[0] == '/') {
      sock.listen.push_back("unix:" + v);
      note(*e, "the owner and mode of " + v,
           kOwnership + " (systemd's default: root, 0666): a client such as nginx must be in that group");
    } else if (port_only || v.rfind("[::]:", 0) == 0) {
      std::string port = port_only ? v : v.substr(5);
      if (!v6only) sock.listen.push_back("tcp:0.0.0.0:" + port);
      sock.listen.push_back("tcp:[::]:" + port);
      if (!v6only) {
        im.note({f.path, e->line}, "", what(*e),
                "superd's IPv6 sockets are IPv6-only: imported as tcp:0.0.0.0:" + port + " and tcp:[::]:" + port +
                    ", two sockets (file descriptors) for the service");
      }
    } else if (!v.empty() && v[0] != '@' && v.rfind("vsock:", 0) != 0 && v.find(':') != std::string::npos) {
      sock.listen.push_back("tcp:" + v);
    } else {
      note(*e, what(*e), "superd listens on TCP addresses and Unix socket paths only");
    }
  }
  for (const char* key : {"SocketUser", "SocketGroup", "SocketMode", "DirectoryMode"}) {
    for (const Entry* e : a.all("Socket", key)) note(*e, what(*e), kOwnership);
  }
  for (const char* key : {"ListenDatagram", "ListenSequentialPacket", "ListenFIFO", "ListenSpecial",
                          "ListenNetlink", "ListenMessageQueue", "ListenUSBFunction"}) {
    for (const Entry* e : a.all("Socket", key)) note(*e, what(*e), "superd holds stream sockets only");
  }
  for (const Entry* e : a.all("Install", "WantedBy")) {
    if (e->value != "sockets.target") note(*e, what(*e), "superd opens a service's sockets when it starts the service");
  }
  for (const Entry* e : a.unhandled()) note(*e, what(*e), family_reason(e->key));
  im.sockets.push_back(std::move(sock));
}

}  // namespace

void import_systemd(const SourceFile& f, Import& im) {
  // Syntax errors and unknown sections are all reported; then nothing is translated.
  size_t errors = im.errors.size();
  UnitText unit = read_unit(f, im);

  std::string base = std::filesystem::path(f.path).filename().string();
  auto has_section = [&](std::string_view name) {
    return std::any_of(unit.sections.begin(), unit.sections.end(), [&](const Section& s) { return s.name == name; });
  };
  bool socket = has_suffix(base, ".socket") || (!has_suffix(base, ".service") && !has_section("Service") &&
                                                has_section("Socket"));
  std::string unit_name = base;
  if (!has_suffix(base, ".service") && !has_suffix(base, ".socket")) {
    unit_name = std::filesystem::path(base).stem().string() + (socket ? ".socket" : ".service");
  }
  const char* main_section = socket ? "Socket" : "Service";
  if (!has_section(main_section)) {
    im.error({f.path, 0}, std::string("not a ") + (socket ? "socket" : "service") + " unit: no [" + main_section +
                              "] section");
  }
  // Sections: the unit type's three, X- extensions (reported), nothing else.
  std::string owner = socket ? "" : unit_name.substr(0, unit_name.size() - std::string_view(".service").size());
  for (const Section& s : unit.sections) {
    if (s.name == "Unit" || s.name == main_section || s.name == "Install") continue;
    if (s.name.rfind("X-", 0) == 0) {
      im.note({f.path, s.line}, owner, "[" + s.name + "]", "an extension section, read by no one but its author");
      continue;
    }
    im.error({f.path, s.line}, "unknown section [" + s.name + "] in a " + (socket ? "socket" : "service") +
                                   " unit (expected [Unit], [" + main_section + "] or [Install])");
  }
  if (im.errors.size() != errors) return;
  std::erase_if(unit.entries, [](const Entry& e) { return e.section.rfind("X-", 0) == 0; });
  if (socket) {
    import_socket(f, unit, unit_name, im);
    return;
  }
  ServiceImport(f, unit, unit_name, im).run();
}

}  // namespace superd::importer
