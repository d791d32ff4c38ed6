// Type=, ExecStart=, ExecReload= of a systemd .service unit: what superd runs, how it is
// ready, its $VARIABLES and %-specifiers.
#include <set>

#include "import/systemd_service.h"

namespace superd::importer {

void ServiceImport::type() {
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

void ServiceImport::exec_start() {
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
const std::string* ServiceImport::variable(const std::string& name) const {
  for (const auto& [k, v] : env_) {
    if (k == name) return &v;
  }
  return nullptr;
}

// "${VAR}", "${VAR:-default}", "${VAR:+alt}" and "$$" inside one word. In the script of
// `sh -c`, a variable Environment= does not set is left for the shell.
std::string ServiceImport::expand_braces(const std::string& w, bool script,
                                         std::vector<std::string>& unresolved) const {
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
    const std::string* v = variable(name);
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
  return r;
}

void ServiceImport::expand_variables(const Entry& e, std::vector<std::string>& argv) {
  const bool shell = is_shell_command(argv);
  std::vector<std::string> out;
  std::vector<std::string> unresolved;
  for (size_t i = 0; i < argv.size(); ++i) {
    const std::string& w = argv[i];
    if (w.size() > 1 && w[0] == '$' && w[1] != '{' && w[1] != '$') {
      if (const std::string* v = variable(w.substr(1))) {
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
    out.push_back(expand_braces(w, shell && i == 2, unresolved));
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

// systemd's %-specifiers that have one meaning wherever the unit runs; others are kept as
// written and reported.
std::string ServiceImport::specifiers(const Entry& e) {
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
      case 'i': case 'I': out += template_ ? "{instance}" : instance; break;
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

void ServiceImport::reload() {
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

}  // namespace superd::importer
