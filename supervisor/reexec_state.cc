// The re-exec state as text (reexec_state.h): one table of keys per level, each with how
// it is written and how it is read back.
#include "supervisor/reexec_state.h"

#include <charconv>
#include <functional>
#include <map>

namespace superd {
namespace {

std::string escape(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\') out += "\\\\";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

std::string unescape(std::string_view v) {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) {
    if (v[i] == '\\' && i + 1 < v.size()) {
      out += v[i + 1] == 'n' ? '\n' : v[i + 1];
      ++i;
    } else {
      out += v[i];
    }
  }
  return out;
}

template <typename T>
bool number(std::string_view v, T* out) {
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), *out);
  return ec == std::errc() && end == v.data() + v.size();
}

bool flag(std::string_view v, bool* out) {
  if (v != "0" && v != "1") return false;
  *out = v == "1";
  return true;
}

int64_t ns(TimePoint t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

bool time_point(std::string_view v, TimePoint* out) {
  int64_t n = 0;
  if (!number(v, &n)) return false;
  *out = TimePoint(std::chrono::duration_cast<Clock::duration>(std::chrono::nanoseconds(n)));
  return true;
}

bool state_of(std::string_view v, State* out) {
  for (State s : {State::stopped, State::starting, State::running, State::stopping,
                  State::backoff, State::fatal, State::exited}) {
    if (v == state_name(s)) {
      *out = s;
      return true;
    }
  }
  return false;
}

std::string fd_list(const std::vector<int>& fds) {
  std::string out;
  for (int fd : fds) out += (out.empty() ? "" : ",") + std::to_string(fd);
  return out;
}

bool fd_list_of(std::string_view v, std::vector<int>* out) {
  out->clear();
  while (!v.empty()) {
    const size_t comma = v.find(',');
    int fd = -1;
    if (!number(v.substr(0, comma), &fd)) return false;
    out->push_back(fd);
    v = comma == std::string_view::npos ? std::string_view() : v.substr(comma + 1);
  }
  return true;
}

// One key: how it is written (nullopt: not written) and read.
template <typename T>
struct Key {
  std::function<std::optional<std::string>(const T&)> write;
  std::function<bool(T&, std::string_view)> read;
};

template <typename T>
using Keys = std::map<std::string, Key<T>, std::less<>>;

#define FLAG(field)                                                             \
  Key<SavedService>{[](const SavedService& s) -> std::optional<std::string> {   \
                      return s.field ? "1" : "0";                                \
                    },                                                           \
                    [](SavedService& s, std::string_view v) { return flag(v, &s.field); }}
#define NUMBER(field)                                                            \
  Key<SavedService>{[](const SavedService& s) -> std::optional<std::string> {   \
                      return std::to_string(s.field);                            \
                    },                                                           \
                    [](SavedService& s, std::string_view v) { return number(v, &s.field); }}
#define TEXT(field)                                                              \
  Key<SavedService>{[](const SavedService& s) -> std::optional<std::string> {   \
                      return s.field;                                            \
                    },                                                           \
                    [](SavedService& s, std::string_view v) {                    \
                      s.field = unescape(v);                                     \
                      return true;                                               \
                    }}
#define TIME(field)                                                              \
  Key<SavedService>{[](const SavedService& s) -> std::optional<std::string> {   \
                      return std::to_string(ns(s.field));                        \
                    },                                                           \
                    [](SavedService& s, std::string_view v) { return time_point(v, &s.field); }}

// The state machine's keys (ServiceSnapshot).
Keys<SavedService> machine_keys() {
  return {
      {"state", {[](const SavedService& s) -> std::optional<std::string> { return state_name(s.machine.state); },
                 [](SavedService& s, std::string_view v) { return state_of(v, &s.machine.state); }}},
      {"want_up", FLAG(machine.want_up)},
      {"since", TIME(machine.since)},
      {"reason", TEXT(machine.reason)},
      {"last_exit", TEXT(machine.last_exit)},
      {"pid", NUMBER(machine.pid)},
      {"pgid", NUMBER(machine.pgid)},
      {"main_alive", FLAG(machine.main_alive)},
      {"group_alive", FLAG(machine.group_alive)},
      {"stop_sent", FLAG(machine.stop_sent)},
      {"kill_sent", FLAG(machine.kill_sent)},
      {"exec_ok", FLAG(machine.exec_ok)},
      {"spawned_at", TIME(machine.spawned_at)},
      {"exit_requested", FLAG(machine.exit_requested)},
      {"was_running", FLAG(machine.was_running)},
      {"launched_before", FLAG(machine.launched_before)},
      {"ready_failed",
       {[](const SavedService& s) { return s.machine.ready_failed; },
        [](SavedService& s, std::string_view v) {
          s.machine.ready_failed = unescape(v);
          return true;
        }}},
      {"exit",
       {[](const SavedService& s) -> std::optional<std::string> {
          if (!s.machine.exit) return std::nullopt;
          return (s.machine.exit->signaled ? "signal:" : "code:") + std::to_string(s.machine.exit->code);
        },
        [](SavedService& s, std::string_view v) {
          ExitStatus e;
          const size_t colon = v.find(':');
          if (colon == std::string_view::npos) return false;
          e.signaled = v.substr(0, colon) == "signal";
          if (!e.signaled && v.substr(0, colon) != "code") return false;
          s.machine.exit = e;
          return number(v.substr(colon + 1), &s.machine.exit->code);
        }}},
      {"restart_failure", TEXT(machine.restart_failure)},
      {"quick_failures", NUMBER(machine.quick_failures)},
      {"restarts", NUMBER(machine.restarts)},
  };
}

// The slot's keys: the process's start time, the timer, the fds and the checks.
Keys<SavedService> slot_keys() {
  return {
      {"start_time", NUMBER(start_time)},
      {"session_start_time", NUMBER(session_start_time)},
      {"deadline",
       {[](const SavedService& s) -> std::optional<std::string> {
          if (!s.deadline) return std::nullopt;
          return std::to_string(ns(*s.deadline));
        },
        [](SavedService& s, std::string_view v) {
          s.deadline.emplace();
          return time_point(v, &*s.deadline);
        }}},
      {"pending_start", FLAG(pending_start)},
      {"out_read_fd", NUMBER(out.read_fd)},
      {"out_write_fd", NUMBER(out.write_fd)},
      {"out_at_line_start", FLAG(out.at_line_start)},
      {"err_read_fd", NUMBER(err.read_fd)},
      {"err_write_fd", NUMBER(err.write_fd)},
      {"err_at_line_start", FLAG(err.at_line_start)},
      {"listen_fds",
       {[](const SavedService& s) -> std::optional<std::string> { return fd_list(s.listen_fds); },
        [](SavedService& s, std::string_view v) { return fd_list_of(v, &s.listen_fds); }}},
      {"notify_fd", NUMBER(notify_fd)},
      {"status_text", TEXT(status_text)},
      {"health_failures", NUMBER(health_failures)},
      {"swap_leaf", FLAG(swap_leaf)},
  };
}

const Keys<SavedService>& service_keys() {
  static const Keys<SavedService> keys = [] {
    Keys<SavedService> all = machine_keys();
    all.merge(slot_keys());
    return all;
  }();
  return keys;
}

#undef FLAG
#undef NUMBER
#undef TEXT
#undef TIME

bool read_daemon_key(SavedState& s, std::string_view key, std::string_view v, bool* known) {
  *known = true;
  if (key == "control_fd") return number(v, &s.control_fd);
  if (key == "control_lock_fd") return number(v, &s.control_lock_fd);
  if (key == "state_lock_fd") return number(v, &s.state_lock_fd);
  if (key == "ready_sent") return flag(v, &s.ready_sent);
  if (key == "reexecs") return number(v, &s.reexecs);
  if (key == "cgroup_own_v2") return s.cgroup_own_v2 = unescape(v), true;
  if (key == "cgroup_own_v2_dir") return s.cgroup_own_v2_dir = unescape(v), true;
  *known = false;
  return true;
}

}  // namespace

std::string encode_state(const SavedState& state) {
  std::string out = "superd-state " + std::to_string(kStateFormat) + "\n";
  out += "control_fd=" + std::to_string(state.control_fd) + "\n";
  out += "control_lock_fd=" + std::to_string(state.control_lock_fd) + "\n";
  out += "state_lock_fd=" + std::to_string(state.state_lock_fd) + "\n";
  out += std::string("ready_sent=") + (state.ready_sent ? "1" : "0") + "\n";
  out += "reexecs=" + std::to_string(state.reexecs) + "\n";
  out += "cgroup_own_v2=" + escape(state.cgroup_own_v2) + "\n";
  out += "cgroup_own_v2_dir=" + escape(state.cgroup_own_v2_dir) + "\n";
  for (const auto& service : state.services) {
    out += "service=" + escape(service.name) + "\n";
    for (const auto& [key, k] : service_keys()) {
      if (auto value = k.write(service)) out += key + "=" + escape(*value) + "\n";
    }
  }
  return out;
}

DecodedState decode_state(std::string_view text) {
  DecodedState result;
  const std::string_view head = "superd-state ";
  const size_t first_end = text.find('\n');
  const std::string_view first = text.substr(0, first_end);
  int format = 0;
  if (first.substr(0, head.size()) != head || !number(first.substr(head.size()), &format)) {
    result.error = "not a superd state (its first line is not 'superd-state N')";
    return result;
  }
  if (format < 1 || format > kStateFormat) {
    result.error = "state format " + std::to_string(format) + " is not one this superd reads (1 to " +
                   std::to_string(kStateFormat) + ")";
    return result;
  }
  SavedState state;
  size_t line_no = 1;
  size_t at = first_end == std::string_view::npos ? text.size() : first_end + 1;
  while (at < text.size()) {
    const size_t end = std::min(text.find('\n', at), text.size());
    const std::string_view line = text.substr(at, end - at);
    at = end + 1;
    ++line_no;
    if (line.empty()) continue;
    const size_t eq = line.find('=');
    const std::string where = "state line " + std::to_string(line_no);
    if (eq == std::string_view::npos) {
      result.error = where + ": not key=value: '" + std::string(line) + "'";
      return result;
    }
    const std::string_view key = line.substr(0, eq), value = line.substr(eq + 1);
    bool ok = true, known = true;
    if (key == "service") {
      state.services.emplace_back().name = unescape(value);
    } else if (state.services.empty()) {
      ok = read_daemon_key(state, key, value, &known);
    } else if (auto it = service_keys().find(key); it != service_keys().end()) {
      ok = it->second.read(state.services.back(), value);
    } else {
      known = false;
    }
    if (!known) result.warnings.push_back(where + ": unknown key '" + std::string(key) + "' ignored");
    if (!ok) {
      result.error = where + ": bad value for '" + std::string(key) + "': '" + std::string(value) + "'";
      return result;
    }
  }
  result.state = std::move(state);
  return result;
}

std::vector<int> fds_of(const SavedState& state) {
  std::vector<int> fds = {state.control_fd, state.control_lock_fd, state.state_lock_fd};
  for (const auto& s : state.services) {
    for (int fd : {s.out.read_fd, s.out.write_fd, s.err.read_fd, s.err.write_fd, s.notify_fd}) {
      fds.push_back(fd);
    }
    fds.insert(fds.end(), s.listen_fds.begin(), s.listen_fds.end());
  }
  std::erase_if(fds, [](int fd) { return fd < 0; });
  return fds;
}

}  // namespace superd
