#include "ipc/status_format.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <iterator>

namespace superd::ipc {

using nlohmann::json;

namespace {

std::string text_field(const json& object, const char* key) {
  const auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::int64_t int_field(const json& object, const char* key) {
  const auto it = object.find(key);
  if (it == object.end()) return 0;
  if (it->is_number_unsigned()) {
    const auto value = it->get<std::uint64_t>();
    return value > INT64_MAX ? INT64_MAX : static_cast<std::int64_t>(value);
  }
  if (it->is_number_integer()) return it->get<std::int64_t>();
  if (it->is_number_float()) {  // "uptime" may come with a fraction of a second
    const double value = it->get<double>();
    if (!std::isfinite(value)) return 0;
    return value >= 9.2e18 ? INT64_MAX : value <= -9.2e18 ? INT64_MIN : static_cast<std::int64_t>(value);
  }
  return 0;
}

bool bool_field(const json& object, const char* key) {
  const auto it = object.find(key);
  return it != object.end() && it->is_boolean() && it->get<bool>();
}

// Control characters would break the alignment or, worse, talk to the terminal.
std::string printable(std::string text) {
  for (char& c : text)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  return text;
}

// Columns are aligned by what the terminal shows: count UTF-8 code points, not bytes.
std::size_t display_width(const std::string& text) {
  return static_cast<std::size_t>(std::count_if(text.begin(), text.end(), [](char c) {
    return (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  }));
}

const char* state_color(const std::string& state) {
  if (state == "running") return "\x1b[32m";
  if (state == "starting" || state == "backoff" || state == "stopping") return "\x1b[33m";
  if (state == "fatal") return "\x1b[1;31m";
  return nullptr;
}

// `state` shown as `text` (a group's "2/3 running" takes the colour of what it sums up).
std::string colored_state(const std::string& state, const StatusFormatOptions& options,
                          const std::string& text = "") {
  const std::string& shown = text.empty() ? state : text;
  const char* color = options.color ? state_color(state) : nullptr;
  return color ? std::string(color) + shown + "\x1b[0m" : shown;
}

// A group's STATE cell ("3/3 running", "2/3 running", "0 instances") as the state whose
// colour it gets: all running is running, none is stopped, some is starting (yellow).
std::string group_state_color(const std::string& cell) {
  const size_t slash = cell.find('/'), space = cell.find(' ');
  if (slash == std::string::npos || space == std::string::npos || space < slash) return cell;
  const std::string up = cell.substr(0, slash), all = cell.substr(slash + 1, space - slash - 1);
  if (cell.substr(space + 1) != "running") return cell;
  return up == all ? "running" : up == "0" ? "stopped" : "starting";
}

// Why a service is not running: its reason, then how its last process ended, without
// saying the same thing twice.
std::string note_for(const json& service) {
  if (text_field(service, "state") == "running") return {};
  const std::string reason = printable(text_field(service, "reason"));
  const std::string last_exit = printable(text_field(service, "last_exit"));
  if (reason.empty()) return last_exit;
  if (last_exit.empty() || reason.find(last_exit) != std::string::npos) return reason;
  return reason + "; last exit: " + last_exit;
}

const json& services_of(const json& result) {
  static const json empty = json::array();
  if (!result.is_object()) return empty;
  const auto it = result.find("services");
  return it != result.end() && it->is_array() ? *it : empty;
}

constexpr std::size_t kColumns = 8;
using Row = std::array<std::string, kColumns>;

bool has_number(const json& object, const char* key) {
  const auto it = object.find(key);
  return it != object.end() && it->is_number();
}

// The service a row belongs to when it is an instance ("worker" for "worker@1"), else "".
std::string family_of(const json& service) {
  const auto it = service.find("instance");
  return it != service.end() && it->is_number_integer() ? text_field(service, "service") : std::string();
}

Row row_for(const json& service) {
  const std::int64_t pid = int_field(service, "pid");
  const bool cgroup = has_number(service, "memory_current") || has_number(service, "cpu_usage_usec");
  return Row{printable(text_field(service, "name")),
             printable(text_field(service, "state")),
             pid > 0 ? std::to_string(pid) : "-",
             pid > 0 ? format_uptime(int_field(service, "uptime")) : "-",
             cgroup && has_number(service, "memory_current")
                 ? format_bytes(int_field(service, "memory_current")) : "-",
             cgroup && has_number(service, "cpu_usage_usec")
                 ? format_cpu_time(int_field(service, "cpu_usage_usec")) : "-",
             std::to_string(int_field(service, "restarts")),
             bool_field(service, "enabled") ? "yes" : "no"};
}

const json& groups_of(const json& result) {
  static const json empty = json::array();
  if (!result.is_object()) return empty;
  const auto it = result.find("groups");
  return it != result.end() && it->is_array() ? *it : empty;
}

// A service with `instances`, summed up: how many run, MEM, CPU and RESTARTS added up,
// ENABLED "yes", "no" or "some".
Row group_row(const std::string& family, const std::vector<const json*>& members) {
  std::int64_t running = 0, restarts = 0, memory = 0, cpu = 0, enabled = 0;
  bool has_memory = false, has_cpu = false;
  for (const json* m : members) {
    running += text_field(*m, "state") == "running";
    restarts += int_field(*m, "restarts");
    enabled += bool_field(*m, "enabled");
    if (has_number(*m, "memory_current")) memory += int_field(*m, "memory_current"), has_memory = true;
    if (has_number(*m, "cpu_usage_usec")) cpu += int_field(*m, "cpu_usage_usec"), has_cpu = true;
  }
  const auto n = static_cast<std::int64_t>(members.size());
  return Row{printable(family),
             n == 0 ? "0 instances" : std::to_string(running) + "/" + std::to_string(n) + " running",
             "-",
             "-",
             has_memory ? format_bytes(memory) : "-",
             has_cpu ? format_cpu_time(cpu) : "-",
             std::to_string(restarts),
             n == 0 ? "-" : enabled == n ? "yes" : enabled == 0 ? "no" : "some"};
}

// "scaled to 3 (the config says 2)" when `superctl scale` chose another count.
std::string group_note(const json& result, const std::string& family, std::size_t shown) {
  for (const json& group : groups_of(result)) {
    if (!group.is_object() || text_field(group, "service") != family) continue;
    const std::int64_t configured = int_field(group, "configured");
    const std::int64_t instances = group.contains("instances") ? int_field(group, "instances")
                                                               : static_cast<std::int64_t>(shown);
    if (instances != configured) {
      return "scaled to " + std::to_string(instances) + " (the config says " + std::to_string(configured) + ")";
    }
  }
  return {};
}

// After the table: the one line saying cgroups are not used (and why), and each limit
// a service has that this host does not enforce.
std::string footer_for(const json& result) {
  std::string out;
  if (result.is_object()) {
    const auto it = result.find("cgroups");
    if (it != result.end() && it->is_object() && !bool_field(*it, "used")) {
      out += cgroups_not_used_line(printable(text_field(*it, "why_not"))) + "\n";
    }
  }
  for (const json& service : services_of(result)) {
    if (!service.is_object()) continue;
    const auto issues = service.find("cgroup_issues");
    if (issues == service.end() || !issues->is_array()) continue;
    for (const json& issue : *issues) {
      if (issue.is_string()) {
        out += printable(text_field(service, "name")) + ": " + printable(issue.get<std::string>()) + "\n";
      }
    }
  }
  return out;
}

}  // namespace

std::string cgroups_not_used_line(std::string_view why_not) {
  std::string out = "cgroups: not used: ";
  out += why_not;
  out += "; services run in process groups";
  return out;
}

std::string escape_controls(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  auto hex = [&out](unsigned char c) {
    static constexpr char kDigits[] = "0123456789abcdef";
    out += "\\x";
    out += kDigits[c >> 4];
    out += kDigits[c & 0xf];
  };
  for (size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      if ((c < 0x20 && c != '\t') || c == 0x7f) hex(c);
      else out += static_cast<char>(c);
      ++i;
      continue;
    }
    // A UTF-8 sequence passes whole; C1 controls (U+0080..U+009F, C2 80..C2 9F) and
    // anything that is not UTF-8 do not.
    const size_t n = (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    bool valid = n > 0 && i + n <= text.size();
    for (size_t k = 1; valid && k < n; ++k) valid = (static_cast<unsigned char>(text[i + k]) & 0xC0) == 0x80;
    if (valid && c == 0xC2 && static_cast<unsigned char>(text[i + 1]) < 0xA0) valid = false;
    if (!valid) {
      hex(c);
      ++i;
      continue;
    }
    out.append(text.substr(i, n));
    i += n;
  }
  return out;
}

std::string format_bytes(std::int64_t bytes) {
  if (bytes < 0) bytes = 0;
  static constexpr const char* kUnits[] = {"B", "K", "M", "G", "T"};
  double value = static_cast<double>(bytes);
  std::size_t unit = 0;
  while (value >= 1024 && unit + 1 < std::size(kUnits)) {
    value /= 1024;
    ++unit;
  }
  char buf[32];
  if (unit == 0 || value >= 100) {
    std::snprintf(buf, sizeof buf, "%.0f%s", value, kUnits[unit]);
  } else {
    std::snprintf(buf, sizeof buf, "%.1f%s", value, kUnits[unit]);
  }
  return buf;
}

std::string format_cpu_time(std::int64_t usec) {
  if (usec < 0) usec = 0;
  if (usec < 60'000'000) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.2fs", static_cast<double>(usec) / 1e6);
    return buf;
  }
  return format_uptime(usec / 1'000'000);
}

std::string format_uptime(std::int64_t seconds) {
  if (seconds < 0) seconds = 0;
  const std::int64_t days = seconds / 86400;
  const std::int64_t hours = seconds / 3600 % 24;
  const std::int64_t minutes = seconds / 60 % 60;
  const std::int64_t secs = seconds % 60;
  auto two = [](std::int64_t v) { return (v < 10 ? "0" : "") + std::to_string(v); };
  if (days > 0) return std::to_string(days) + "d" + std::to_string(hours) + "h";
  if (hours > 0) return std::to_string(hours) + "h" + two(minutes) + "m";
  if (minutes > 0) return std::to_string(minutes) + "m" + two(secs) + "s";
  return std::to_string(secs) + "s";
}

std::string format_status_table(const json& result, const StatusFormatOptions& options) {
  std::vector<Row> rows{Row{"NAME", "STATE", "PID", "UPTIME", "MEM", "CPU", "RESTARTS", "ENABLED"}};
  std::vector<std::string> notes{""};
  std::vector<std::string> grouped;  // services whose instances are already listed
  const json& services = services_of(result);
  for (const json& service : services) {
    if (!service.is_object()) continue;
    const std::string family = family_of(service);
    if (family.empty()) {
      rows.push_back(row_for(service));
      notes.push_back(note_for(service));
      continue;
    }
    if (std::find(grouped.begin(), grouped.end(), family) != grouped.end()) continue;
    // The service's line, then each of its instances indented under it.
    grouped.push_back(family);
    std::vector<const json*> members;
    for (const json& other : services)
      if (other.is_object() && family_of(other) == family) members.push_back(&other);
    rows.push_back(group_row(family, members));
    notes.push_back(group_note(result, family, members.size()));
    for (const json* member : members) {
      rows.push_back(row_for(*member));
      rows.back()[0] = "  " + rows.back()[0];
      notes.push_back(note_for(*member));
    }
  }
  for (const json& group : groups_of(result)) {  // scaled to 0: no instance row
    const std::string family = printable(text_field(group, "service"));
    if (family.empty() || std::find(grouped.begin(), grouped.end(), family) != grouped.end()) continue;
    rows.push_back(group_row(family, {}));
    notes.push_back(group_note(result, family, 0));
  }
  std::array<std::size_t, kColumns> width{};
  for (const Row& row : rows)
    for (std::size_t i = 0; i < kColumns; ++i) width[i] = std::max(width[i], display_width(row[i]));

  std::string out;
  for (std::size_t r = 0; r < rows.size(); ++r) {
    std::string line;
    for (std::size_t i = 0; i < kColumns; ++i) {
      const std::string& cell = rows[r][i];
      // Padding is computed on the plain text; colour codes take no columns.
      line += (i == 1 && r > 0) ? colored_state(group_state_color(cell), options, cell) : cell;
      const bool last = i + 1 == kColumns && notes[r].empty();
      if (!last) line.append(width[i] - display_width(cell) + 2, ' ');
    }
    line += notes[r];
    out += line + "\n";
  }
  return out + footer_for(result);
}

std::string format_state_lines(const json& result, const std::vector<std::string>& only,
                               const StatusFormatOptions& options) {
  const bool everything =
      only.empty() || std::find(only.begin(), only.end(), "all") != only.end();
  std::string out;
  for (const json& service : services_of(result)) {
    if (!service.is_object()) continue;
    const std::string name = text_field(service, "name");
    const std::string family = family_of(service);
    const bool named = std::find(only.begin(), only.end(), name) != only.end() ||
                       (!family.empty() && std::find(only.begin(), only.end(), family) != only.end());
    if (!everything && !named) continue;
    const std::string state = printable(text_field(service, "state"));
    std::string line = printable(name) + ": " + colored_state(state, options);
    const std::int64_t pid = int_field(service, "pid");
    const std::string note = note_for(service);
    // After a stop, "stopped" says it all; the reason matters when a start went wrong.
    const bool quiet = state == "stopped" || state == "stopping";
    if (state == "running" && pid > 0) line += " (pid " + std::to_string(pid) + ")";
    else if (!note.empty() && !quiet) line += " (" + note + ")";
    out += line + "\n";
  }
  return out;
}

bool any_not_running(const json& result, const std::vector<std::string>& names) {
  const json& services = services_of(result);
  const bool every_enabled =
      names.empty() || std::find(names.begin(), names.end(), "all") != names.end();
  auto running = [](const json& service) { return text_field(service, "state") == "running"; };
  if (every_enabled) {
    return std::any_of(services.begin(), services.end(), [&](const json& service) {
      return service.is_object() && bool_field(service, "enabled") && !running(service);
    });
  }
  // A name stands for its service, or for every instance of a service with `instances`
  // (scaled to 0: nothing that should run, so nothing that does not).
  for (const std::string& name : names) {
    bool found = false;
    for (const json& service : services) {
      if (!service.is_object()) continue;
      if (text_field(service, "name") != name && family_of(service) != name) continue;
      found = true;
      if (!running(service)) return true;
    }
    const json& groups = groups_of(result);
    const bool empty_group = std::any_of(groups.begin(), groups.end(), [&](const json& g) {
      return g.is_object() && text_field(g, "service") == name && int_field(g, "instances") == 0;
    });
    if (!found && !empty_group) return true;
  }
  return false;
}

}  // namespace superd::ipc
