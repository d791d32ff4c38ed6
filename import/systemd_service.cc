// A systemd .service unit as a whole: its [Unit] and [Install] sections, identity,
// environment and output.
#include "import/systemd_service.h"

namespace superd::importer {

ServiceImport::ServiceImport(const SourceFile& f, const UnitText& unit, std::string unit_name, Import& im)
    : f_(f), unit_(unit), a_(unit), im_(im) {
  s_.unit = std::move(unit_name);
  s_.name = s_.unit.substr(0, s_.unit.size() - std::string_view(".service").size());
  s_.at = {f.path, 0};
  s_.kind = SourceKind::systemd;
  if (s_.name.size() > 1 && s_.name.back() == '@') {
    template_ = true;
    s_.name.pop_back();
    s_.instances = {im.template_instances > 0 ? im.template_instances : 1,
                    im.template_instances > 0 ? "" : "a template unit: give `--instances N` for N"};
  }
}

void ServiceImport::run() {
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
  sandbox();
  install_section();
  for (const Entry* e : a_.unhandled()) note(*e, family_reason(e->key));
  if (im_.errors.size() == errors) im_.services.push_back(std::move(s_));
}

void ServiceImport::note(const Entry& e, std::string w, std::string why) {
  im_.note({f_.path, e.line}, s_.name, std::move(w), std::move(why));
}

// What the other keys depend on: User= for %u, Environment= for $VAR, the Type.
void ServiceImport::context() {
  for (const Entry* e : a_.all("Service", "User")) user_ = e->value;
}

void ServiceImport::unit_section() {
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

void ServiceImport::user_and_directory() {
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

void ServiceImport::environment() {
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

void ServiceImport::output() {
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

void ServiceImport::install_section() {
  for (const Entry* e : a_.all("Install", "WantedBy")) {
    std::string err;
    for (const std::string& target : split_systemd_words(e->value, &err).value_or(std::vector<std::string>{})) {
      if (target != "multi-user.target" && target != "default.target" && target != "graphical.target") {
        note(*e, "WantedBy=" + target, "superd starts every enabled service at boot");
      }
    }
  }
}

}  // namespace superd::importer
