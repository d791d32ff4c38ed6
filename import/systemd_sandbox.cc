// The hardening directives of a systemd .service unit, translated into its `sandbox`
// table (SPEC "Sandbox": same names in snake_case, same meaning). Lists are merged the
// way systemd's parsers merge them (src/core/load-fragment.c): an empty assignment
// resets, CapabilityBoundingSet= lines are ORed (a "~" line is the complement),
// RestrictAddressFamilies= and SystemCallFilter= take their mode from the first line and
// later lines of the other mode take away. What the table cannot say is reported.
#include <sys/capability.h>

#include <set>

#include "import/systemd_service.h"

namespace superd::importer {
namespace {

std::optional<bool> parse_bool(std::string_view v) {
  for (std::string_view t : {"1", "yes", "y", "true", "t", "on"}) {
    if (v == t) return true;
  }
  for (std::string_view f : {"0", "no", "n", "false", "f", "off"}) {
    if (v == f) return false;
  }
  return std::nullopt;
}

std::string array(const std::vector<std::string>& items) {
  std::string out = "[";
  for (size_t i = 0; i < items.size(); ++i) out += (i ? ", " : "") + toml_quote(items[i]);
  return out + "]";
}

// The capabilities this libcap names, as bits.
uint64_t all_capabilities() {
  uint64_t all = 0;
  for (int cap = 0; cap < 64; ++cap) {
    char* name = cap_to_name(cap);
    if (!name) continue;
    if (std::string_view(name).rfind("cap_", 0) == 0) all |= uint64_t{1} << cap;
    cap_free(name);
  }
  return all;
}

std::string capability_name(int cap) {
  char* name = cap_to_name(cap);
  std::string out = name ? name : "";
  cap_free(name);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

bool af_name(std::string_view w) {
  return w.size() > 3 && w.substr(0, 3) == "AF_" &&
         w.substr(3).find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789") ==
             std::string_view::npos;
}

}  // namespace

void ServiceImport::sandbox() {
  sandbox_flags();
  sandbox_paths();
  sandbox_capabilities("CapabilityBoundingSet", "capabilities");
  sandbox_capabilities("AmbientCapabilities", "ambient_capabilities");
  sandbox_address_families();
  sandbox_system_calls();
  sandbox_unsupported();
  // SPEC's key order, whatever order the unit had.
  static constexpr std::string_view kOrder[] = {
      "no_new_privileges", "private_tmp", "private_devices", "protect_system", "protect_home",
      "read_write_paths", "read_only_paths", "inaccessible_paths", "capabilities", "ambient_capabilities",
      "restrict_address_families", "system_call_filter", "memory_deny_write_execute",
      "protect_kernel_tunables", "protect_kernel_modules", "protect_kernel_logs", "protect_control_groups",
      "protect_clock", "protect_hostname", "restrict_namespaces", "restrict_realtime", "restrict_suid_sgid",
      "lock_personality"};
  auto rank = [](const std::string& k) {
    return std::find(std::begin(kOrder), std::end(kOrder), k) - std::begin(kOrder);
  };
  std::stable_sort(s_.sandbox.begin(), s_.sandbox.end(),
                   [&](const auto& a, const auto& b) { return rank(a.first) < rank(b.first); });
}

void ServiceImport::sandbox_flags() {
  static constexpr std::pair<const char*, const char*> kFlags[] = {
      {"NoNewPrivileges", "no_new_privileges"},
      {"PrivateTmp", "private_tmp"},
      {"PrivateDevices", "private_devices"},
      {"MemoryDenyWriteExecute", "memory_deny_write_execute"},
      {"ProtectKernelTunables", "protect_kernel_tunables"},
      {"ProtectKernelModules", "protect_kernel_modules"},
      {"ProtectKernelLogs", "protect_kernel_logs"},
      {"ProtectControlGroups", "protect_control_groups"},
      {"ProtectClock", "protect_clock"},
      {"ProtectHostname", "protect_hostname"},
      {"RestrictRealtime", "restrict_realtime"},
      {"RestrictSUIDSGID", "restrict_suid_sgid"},
      {"LockPersonality", "lock_personality"},
  };
  for (auto [directive, key] : kFlags) {
    const Entry* e = a_.last("Service", directive);
    if (!e) continue;
    if (auto b = parse_bool(e->value)) {
      s_.sandbox.emplace_back(key, *b ? "true" : "false");
    } else {
      note(*e, "not a boolean");
    }
  }
  auto choice = [&](const char* directive, const char* key, std::string_view a, std::string_view b) {
    const Entry* e = a_.last("Service", directive);
    if (!e) return;
    if (auto v = parse_bool(e->value)) {
      s_.sandbox.emplace_back(key, *v ? "true" : "false");
    } else if (e->value == a || e->value == b) {
      s_.sandbox.emplace_back(key, toml_quote(e->value));
    } else {
      note(*e, "expected a boolean, " + std::string(a) + " or " + std::string(b));
    }
  };
  choice("ProtectSystem", "protect_system", "full", "strict");
  choice("ProtectHome", "protect_home", "read-only", "tmpfs");
  if (const Entry* e = a_.last("Service", "RestrictNamespaces")) {
    if (auto b = parse_bool(e->value)) {
      s_.sandbox.emplace_back("restrict_namespaces", *b ? "true" : "false");
    } else {
      note(*e, "superd's restrict_namespaces refuses every namespace type or none: set it to true "
               "if the service creates none of them");
    }
  }
}

// ReadWritePaths= (and the older ReadWriteDirectories=) and their siblings: one list per
// pair of names, in file order, an empty assignment of either resetting it.
void ServiceImport::sandbox_paths() {
  static constexpr std::array<const char*, 3> kPaths[] = {
      {"ReadWritePaths", "ReadWriteDirectories", "read_write_paths"},
      {"ReadOnlyPaths", "ReadOnlyDirectories", "read_only_paths"},
      {"InaccessiblePaths", "InaccessibleDirectories", "inaccessible_paths"},
  };
  for (const auto& names : kPaths) {
    a_.all("Service", names[0]);  // marks both as handled
    a_.all("Service", names[1]);
    std::vector<std::string> paths;
    bool any = false;
    for (const Entry& e : unit_.entries) {
      if (e.section != "Service" || (e.key != names[0] && e.key != names[1])) continue;
      any = true;
      if (e.value.empty()) {
        paths.clear();
        continue;
      }
      std::string err;
      for (std::string w : split_systemd_words(specifiers(e), &err).value_or(std::vector<std::string>{})) {
        bool optional = false, plus = false;
        while (!w.empty() && (w[0] == '-' || w[0] == '+')) {
          (w[0] == '-' ? optional : plus) = true;
          w.erase(0, 1);
        }
        if (plus) {
          note(e, "'+" + w + "' in " + e.key + "=", "superd has no RootDirectory=: the path is taken from /");
        }
        if (w.empty() || w[0] != '/') {
          note(e, "'" + w + "' in " + e.key + "=", "not an absolute path");
          continue;
        }
        paths.push_back((optional ? "-" : "") + w);
      }
    }
    if (any && !paths.empty()) s_.sandbox.emplace_back(names[2], array(paths));
  }
}

// systemd's config_parse_capability_set: a line replaces an unset or empty set and is
// ORed into one that has bits; "~" takes the complement of the line; "" is the empty set.
// CapabilityBoundingSet starts full, AmbientCapabilities empty.
void ServiceImport::sandbox_capabilities(const char* directive, const char* key) {
  const bool bounding = std::string_view(directive) == "CapabilityBoundingSet";
  const uint64_t all = all_capabilities();
  const uint64_t initial = bounding ? all : 0;
  uint64_t set = initial;
  bool any = false;
  a_.all("Service", directive);
  for (const Entry& e : unit_.entries) {
    if (e.section != "Service" || e.key != directive) continue;
    any = true;
    std::string_view v = e.value;
    const bool invert = !v.empty() && v[0] == '~';
    if (invert) v.remove_prefix(1);
    uint64_t sum = 0;
    std::string err;
    auto words = split_systemd_words(v, &err).value_or(std::vector<std::string>{});
    size_t unknown = 0;
    for (const std::string& w : words) {
      cap_value_t cap = 0;
      if (cap_from_name(w.c_str(), &cap) < 0 || cap < 0 || cap > 63 || w.find_first_of("0123456789") == 0) {
        note(e, "'" + w + "' in " + e.key + "=", "not a capability this system knows");
        ++unknown;
        continue;
      }
      sum |= uint64_t{1} << cap;
    }
    if (!words.empty() && unknown == words.size()) continue;  // nothing known: the line changes nothing
    if (invert) sum = ~sum & all;
    set = (sum == 0 || set == initial) ? sum : set | sum;
  }
  if (!any || (bounding && set == all)) return;
  std::vector<std::string> names;
  for (int cap = 0; cap < 64; ++cap) {
    if (set & (uint64_t{1} << cap)) names.push_back(capability_name(cap));
  }
  s_.sandbox.emplace_back(key, array(names));
}

// systemd's config_parse_address_families: "" resets, "none" allows nothing, the first
// line's "~" decides allow or deny list, later lines of the other kind take away.
void ServiceImport::sandbox_address_families() {
  bool any = false, allow = false;
  std::set<std::string> families;
  a_.all("Service", "RestrictAddressFamilies");
  for (const Entry& e : unit_.entries) {
    if (e.section != "Service" || e.key != "RestrictAddressFamilies") continue;
    if (e.value.empty()) {
      any = false;
      families.clear();
      continue;
    }
    if (e.value == "none") {
      any = allow = true;
      families.clear();
      continue;
    }
    std::string_view v = e.value;
    const bool invert = v[0] == '~';
    if (invert) v.remove_prefix(1);
    if (!any) allow = !invert;
    any = true;
    std::string err;
    for (const std::string& w : split_systemd_words(v, &err).value_or(std::vector<std::string>{})) {
      if (!af_name(w)) {
        note(e, "'" + w + "' in RestrictAddressFamilies=", "not an address family name");
      } else if (!invert == allow) {
        families.insert(w);
      } else {
        families.erase(w);
      }
    }
  }
  if (!any || (!allow && families.empty())) return;
  std::vector<std::string> out;
  for (const std::string& f : families) out.push_back(allow ? f : "~" + f);
  s_.sandbox.emplace_back("restrict_address_families", array(out));
}

// SystemCallFilter= lines, one entry per name with the line's "~": superd's list merges
// them as systemd merges the lines. SystemCallErrorNumber= goes with each denied name.
void ServiceImport::sandbox_system_calls() {
  std::vector<std::string> entries;
  const Entry* first = nullptr;
  for (const Entry* e : a_.all("Service", "SystemCallFilter")) {
    if (!first) first = e;
    std::string_view v = e->value;
    const bool invert = !v.empty() && v[0] == '~';
    if (invert) v.remove_prefix(1);
    std::string err;
    for (const std::string& w : split_systemd_words(v, &err).value_or(std::vector<std::string>{})) {
      entries.push_back((invert ? "~" : "") + w);
    }
  }
  const Entry* error = a_.last("Service", "SystemCallErrorNumber");
  const bool allow_list = !entries.empty() && entries.front()[0] != '~';
  if (error && error->value != "EPERM" && (allow_list || entries.empty())) {
    note(*error, "superd refuses a call outside an allow list with EPERM");
  } else if (error && error->value != "EPERM") {
    for (std::string& entry : entries) {
      if (entry.find(':') == std::string::npos) entry += ":" + error->value;
    }
  } else if (!error && first) {
    note(*first, "how a refused call fails", "superd returns EPERM, where systemd without "
                 "SystemCallErrorNumber= kills the process (SIGSYS)");
  }
  if (!entries.empty()) s_.sandbox.emplace_back("system_call_filter", array(entries));
}

// Hardening the table has no key for, each with its reason.
void ServiceImport::sandbox_unsupported() {
  // superd's seccomp filters admit the native architecture only.
  static constexpr std::string_view kFiltering[] = {
      "system_call_filter", "restrict_address_families", "memory_deny_write_execute", "lock_personality",
      "restrict_realtime", "restrict_suid_sgid", "restrict_namespaces", "protect_clock",
      "protect_kernel_tunables", "protect_kernel_modules", "protect_kernel_logs", "private_devices",
      "protect_hostname"};
  bool filtered = std::any_of(s_.sandbox.begin(), s_.sandbox.end(), [](const auto& kv) {
    return kv.second != "false" && std::find(std::begin(kFiltering), std::end(kFiltering), kv.first) !=
                                       std::end(kFiltering);
  });
  if (const Entry* e = a_.last("Service", "SystemCallArchitectures")) {
    if (e->value != "native" || !filtered) {
      note(*e, filtered ? "superd's filters admit the native architecture only"
                        : "superd restricts the ABI only along with a seccomp filter: set e.g. "
                          "lock_personality = true");
    }
  }
  static constexpr std::pair<const char*, const char*> kNo[] = {
      {"PrivateUsers", "superd's sandbox has no user namespace"},
      {"PrivateNetwork", "superd's sandbox has no network namespace"},
      {"PrivateIPC", "superd's sandbox has no IPC namespace"},
      {"PrivateMounts", "superd's sandbox always makes / a slave mount in the service's namespace"},
      {"ProtectProc", "superd's sandbox does not remount /proc with hidepid="},
      {"ProcSubset", "superd's sandbox does not remount /proc with subset="},
      {"RemoveIPC", "superd does not remove the user's System V IPC objects when the service stops"},
      {"NoExecPaths", "superd's sandbox has no noexec paths"},
      {"ExecPaths", "superd's sandbox has no noexec paths"},
      {"KeyringMode", "superd leaves the kernel keyring as it found it"},
  };
  for (auto [directive, why] : kNo) {
    for (const Entry* e : a_.all("Service", directive)) note(*e, why);
  }
}

}  // namespace superd::importer
