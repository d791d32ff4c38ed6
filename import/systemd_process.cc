// Limits, restart and stop behaviour of a systemd .service unit.
#include "import/systemd_service.h"

namespace superd::importer {

void ServiceImport::process_keys() {
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

void ServiceImport::restart_keys() {
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

void ServiceImport::stop_keys() {
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

}  // namespace superd::importer
