#include "supervisor/config_sandbox_load.h"

#include <algorithm>
#include <cctype>
#include <climits>
#include <optional>
#include <tuple>
#include <vector>

#include "supervisor/config_loader.h"
#include "supervisor/sandbox_names.h"
#include "supervisor/syscall_groups.h"

namespace superd {

const std::string_view kSandboxKeys[] = {
    "no_new_privileges",       "private_tmp",
    "private_devices",         "protect_system",
    "protect_home",            "read_write_paths",
    "read_only_paths",         "inaccessible_paths",
    "capabilities",            "ambient_capabilities",
    "restrict_address_families", "system_call_filter",
    "memory_deny_write_execute", "protect_kernel_tunables",
    "protect_kernel_modules",  "protect_kernel_logs",
    "protect_control_groups",  "protect_clock",
    "protect_hostname",        "restrict_namespaces",
    "restrict_realtime",       "restrict_suid_sgid",
    "lock_personality",
};
const size_t kSandboxKeyCount = sizeof kSandboxKeys / sizeof kSandboxKeys[0];

namespace {

using config_internal::edit_distance;
using config_internal::quoted;
using config_internal::type_name;

// " (did you mean 'X'?)" for the closest known name within two edits, else "" (the
// loader's own suggestion() takes the first; among 500 syscall names the closest is
// the one meant).
template <typename Names>
std::string closest(std::string_view word, const Names& known) {
  if (word.size() > 64) return "";
  std::string_view best;
  size_t best_distance = 3;
  for (const auto& candidate : known) {
    std::string_view c(candidate);
    // More than two apart in length is more than two edits: skip the quadratic part, so
    // a list of many wrong names against @known's 500 stays cheap.
    if (c.size() + 2 < word.size() || word.size() + 2 < c.size()) continue;
    size_t d = edit_distance(word, c);
    if (d <= std::min<size_t>(2, c.size() / 2) && d < best_distance) {
      best = c;
      best_distance = d;
    }
  }
  return best.empty() ? "" : " (did you mean '" + std::string(best) + "'?)";
}

std::vector<std::string> group_names() {
  std::vector<std::string> out;
  for (size_t i = 0; i < kSyscallGroupCount; ++i) out.emplace_back(kSyscallGroups[i].name);
  return out;
}

const std::vector<std::string>& known_syscalls() {
  static const std::vector<std::string> names = [] {
    const SyscallGroup* known = find_syscall_group("@known");
    return known ? syscall_group_members(*known) : std::vector<std::string>{};
  }();
  return names;
}

// One table being read. Each key_* stores its value only when all of it is good.
class Reader {
 public:
  Reader(std::string_view where, SandboxConfig& out, const SandboxErrorSink& error)
      : where_(where), out_(out), error_(error) {}

  void table(const toml::table& t);

 private:
  void at(const toml::node& n, std::string message) { error_(n.source().begin, std::move(message)); }
  std::string label(std::string_view key) const { return "'sandbox." + std::string(key) + "'"; }

  void key(std::string_view key, const toml::node& n);
  std::optional<bool> boolean(std::string_view key, const toml::node& n);
  // The strings of an array with their nodes; false (after reporting) if it is not one.
  bool strings(std::string_view key, const toml::node& n,
               std::vector<std::pair<std::string, const toml::node*>>& out);
  void protect_system(const toml::node& n);
  void protect_home(const toml::node& n);
  void paths(std::string_view key, const toml::node& n, std::vector<std::string>& field);
  std::optional<std::vector<std::string>> capabilities(std::string_view key, const toml::node& n);
  void address_families(const toml::node& n);
  void system_call_filter(const toml::node& n);
  bool syscall_entry(const std::string& entry, const toml::node& n, bool allow_list);

  std::string_view where_;
  SandboxConfig& out_;
  const SandboxErrorSink& error_;
};

void Reader::table(const toml::table& t) {
  // In file order, so the errors come out in order too.
  std::vector<std::pair<std::string_view, const toml::node*>> items;
  for (auto&& [k, v] : t) items.emplace_back(k.str(), &v);
  std::stable_sort(items.begin(), items.end(), [](const auto& a, const auto& b) {
    const auto &pa = a.second->source().begin, &pb = b.second->source().begin;
    return std::tie(pa.line, pa.column) < std::tie(pb.line, pb.column);
  });
  for (auto [k, v] : items) key(k, *v);

  // A cross-check inside one table; across [defaults.sandbox] and a service's own table
  // the spawn reports it (sandbox_plan.cc).
  if (t.contains("capabilities") && t.contains("ambient_capabilities") && out_.capabilities_set) {
    const toml::array* ambient = t["ambient_capabilities"].as_array();
    for (size_t i = 0; ambient && i < ambient->size(); ++i) {
      const toml::node& element = *ambient->get(i);
      const auto* s = element.as_string();
      if (!s) continue;
      auto cap = capability_from_name(s->get());
      if (!cap) continue;
      bool bounded = std::any_of(out_.capabilities.begin(), out_.capabilities.end(),
                                 [&](const std::string& c) { return capability_from_name(c) == cap; });
      if (!bounded) {
        at(element, "ambient capability " + capability_name(*cap) +
                        " is not in 'sandbox.capabilities' (the bounding set), so it could never be raised");
      }
    }
  }
}

void Reader::key(std::string_view k, const toml::node& n) {
  auto flag = [&](bool& field) {
    if (auto v = boolean(k, n)) field = *v;
  };
  if (k == "no_new_privileges") return flag(out_.no_new_privileges);
  if (k == "private_tmp") return flag(out_.private_tmp);
  if (k == "private_devices") return flag(out_.private_devices);
  if (k == "protect_system") return protect_system(n);
  if (k == "protect_home") return protect_home(n);
  if (k == "read_write_paths") return paths(k, n, out_.read_write_paths);
  if (k == "read_only_paths") return paths(k, n, out_.read_only_paths);
  if (k == "inaccessible_paths") return paths(k, n, out_.inaccessible_paths);
  if (k == "capabilities") {
    if (auto caps = capabilities(k, n)) {
      out_.capabilities = std::move(*caps);
      out_.capabilities_set = true;
    }
    return;
  }
  if (k == "ambient_capabilities") {
    if (auto caps = capabilities(k, n)) out_.ambient_capabilities = std::move(*caps);
    return;
  }
  if (k == "restrict_address_families") return address_families(n);
  if (k == "system_call_filter") return system_call_filter(n);
  if (k == "memory_deny_write_execute") return flag(out_.memory_deny_write_execute);
  if (k == "protect_kernel_tunables") return flag(out_.protect_kernel_tunables);
  if (k == "protect_kernel_modules") return flag(out_.protect_kernel_modules);
  if (k == "protect_kernel_logs") return flag(out_.protect_kernel_logs);
  if (k == "protect_control_groups") return flag(out_.protect_control_groups);
  if (k == "protect_clock") return flag(out_.protect_clock);
  if (k == "protect_hostname") return flag(out_.protect_hostname);
  if (k == "restrict_namespaces") return flag(out_.restrict_namespaces);
  if (k == "restrict_realtime") return flag(out_.restrict_realtime);
  if (k == "restrict_suid_sgid") return flag(out_.restrict_suid_sgid);
  if (k == "lock_personality") return flag(out_.lock_personality);
  at(n, "unknown key " + quoted(k) + " in " + std::string(where_) +
            closest(k, std::vector<std::string_view>(kSandboxKeys, kSandboxKeys + kSandboxKeyCount)));
}

std::optional<bool> Reader::boolean(std::string_view k, const toml::node& n) {
  if (const auto* b = n.as_boolean()) return b->get();
  at(n, label(k) + " must be a boolean, not " + std::string(type_name(n)));
  return std::nullopt;
}

bool Reader::strings(std::string_view k, const toml::node& n,
                     std::vector<std::pair<std::string, const toml::node*>>& out) {
  const auto* array = n.as_array();
  if (!array) {
    at(n, label(k) + " must be an array of strings, not " + std::string(type_name(n)));
    return false;
  }
  bool ok = true;
  for (const toml::node& element : *array) {
    const auto* s = element.as_string();
    if (!s) {
      at(element, label(k) + " must be an array of strings, but this is " + std::string(type_name(element)));
      ok = false;
    } else if (s->get().find('\0') != std::string::npos) {
      at(element, label(k) + " must not contain a NUL character");
      ok = false;
    } else {
      out.emplace_back(s->get(), &element);
    }
  }
  return ok;
}

void Reader::protect_system(const toml::node& n) {
  using P = SandboxConfig::ProtectSystem;
  if (const auto* b = n.as_boolean()) {
    out_.protect_system = b->get() ? P::on : P::off;
  } else if (const auto* s = n.as_string()) {
    if (s->get() == "full") {
      out_.protect_system = P::full;
    } else if (s->get() == "strict") {
      out_.protect_system = P::strict;
    } else {
      at(n, "invalid " + label("protect_system") + " value " + quoted(s->get()) +
                " (expected true, false, \"full\" or \"strict\")");
    }
  } else {
    at(n, label("protect_system") + " must be a boolean, \"full\" or \"strict\", not " +
              std::string(type_name(n)));
  }
}

void Reader::protect_home(const toml::node& n) {
  using P = SandboxConfig::ProtectHome;
  if (const auto* b = n.as_boolean()) {
    out_.protect_home = b->get() ? P::on : P::off;
  } else if (const auto* s = n.as_string()) {
    if (s->get() == "read-only") {
      out_.protect_home = P::read_only;
    } else if (s->get() == "tmpfs") {
      out_.protect_home = P::tmpfs;
    } else {
      at(n, "invalid " + label("protect_home") + " value " + quoted(s->get()) +
                " (expected true, false, \"read-only\" or \"tmpfs\")");
    }
  } else {
    at(n, label("protect_home") + " must be a boolean, \"read-only\" or \"tmpfs\", not " +
              std::string(type_name(n)));
  }
}

// Absolute paths, each optionally prefixed with "-" (systemd's "ignore it if it does not
// exist"); stored cleaned up ("//" and a trailing "/" dropped), "-" kept.
void Reader::paths(std::string_view k, const toml::node& n, std::vector<std::string>& field) {
  std::vector<std::pair<std::string, const toml::node*>> items;
  bool ok = strings(k, n, items);
  std::vector<std::string> out;
  for (auto& [text, node] : items) {
    std::string_view path = text;
    const bool optional = !path.empty() && path.front() == '-';
    if (optional) path.remove_prefix(1);
    if (path.empty() || path.front() != '/') {
      at(*node, label(k) + " must hold absolute paths (optionally prefixed with '-'), not " + quoted(text));
      ok = false;
      continue;
    }
    std::string clean = optional ? "-" : "";
    bool bad_component = false;
    size_t at_pos = 0;
    while (at_pos < path.size()) {
      size_t next = path.find('/', at_pos + 1);
      std::string_view component = path.substr(at_pos + 1, next == std::string_view::npos ? std::string_view::npos
                                                                                        : next - at_pos - 1);
      if (component == "." || component == "..") bad_component = true;
      if (!component.empty()) (clean += '/') += component;
      at_pos = next == std::string_view::npos ? path.size() : next;
    }
    if (clean == "" || clean == "-") clean += '/';
    if (bad_component) {
      at(*node, label(k) + " must not contain '.' or '..' components: " + quoted(text));
      ok = false;
      continue;
    }
    if (clean.size() >= PATH_MAX) {
      at(*node, label(k) + " has a path longer than " + std::to_string(PATH_MAX - 1) + " bytes");
      ok = false;
      continue;
    }
    out.push_back(std::move(clean));
  }
  if (ok) field = std::move(out);
}

std::optional<std::vector<std::string>> Reader::capabilities(std::string_view k, const toml::node& n) {
  std::vector<std::pair<std::string, const toml::node*>> items;
  bool ok = strings(k, n, items);
  std::vector<std::string> out;
  for (auto& [name, node] : items) {
    auto cap = capability_from_name(name);
    if (!cap) {
      std::string upper = name;
      for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      at(*node, "unknown capability " + quoted(name) + " in " + label(k) + closest(upper, capability_names()));
      ok = false;
      continue;
    }
    std::string canonical = capability_name(*cap);
    if (std::find(out.begin(), out.end(), canonical) == out.end()) out.push_back(canonical);
  }
  if (!ok) return std::nullopt;
  return out;
}

void Reader::address_families(const toml::node& n) {
  std::vector<std::pair<std::string, const toml::node*>> items;
  bool ok = strings("restrict_address_families", n, items);
  std::vector<std::string> out;
  for (auto& [entry, node] : items) {
    std::string_view name = entry;
    if (!name.empty() && name.front() == '~') name.remove_prefix(1);
    if (!address_family_from_name(name)) {
      at(*node, "unknown address family " + quoted(name) + " in 'sandbox.restrict_address_families'" +
                    closest(name, address_family_names()));
      ok = false;
      continue;
    }
    out.push_back(entry);
  }
  if (!ok) return;
  out_.restrict_address_families = std::move(out);
  out_.restrict_address_families_set = true;
}

// "[~]NAME[:ERRNO]": NAME a system call or an @group. The first entry decides the mode,
// as systemd's first SystemCallFilter= line does: without "~" an allow list (anything
// else refused with EPERM), with it a deny list. An errno is for what a deny list denies.
bool Reader::syscall_entry(const std::string& entry, const toml::node& n, bool allow_list) {
  std::string_view e = entry;
  const bool deny = !e.empty() && e.front() == '~';
  if (deny) e.remove_prefix(1);
  size_t colon = e.find(':');
  std::string_view name = e.substr(0, colon);
  if (name.empty()) {
    at(n, "empty system call name in 'sandbox.system_call_filter'");
    return false;
  }
  if (name.front() == '@') {
    if (!find_syscall_group(name)) {
      at(n, "unknown system call group " + quoted(name) + " in 'sandbox.system_call_filter'" +
                closest(name, group_names()));
      return false;
    }
  } else if (!is_known_syscall(name)) {
    at(n, "unknown system call " + quoted(name) + " in 'sandbox.system_call_filter'" +
              closest(name, known_syscalls()));
    return false;
  }
  if (colon == std::string_view::npos) return true;
  std::string_view error = e.substr(colon + 1);
  if (!deny) {
    at(n, "an errno only goes with a denied call ('~" + std::string(e) + "'), not " + quoted(entry));
    return false;
  }
  if (allow_list) {
    at(n, quoted(entry) + ": this list starts with an allowed call, so whatever it does not allow is " +
              "refused with EPERM; an errno here would have no effect");
    return false;
  }
  if (error != "kill" && !errno_from_name(error)) {
    at(n, "invalid errno " + quoted(error) + " in 'sandbox.system_call_filter' (expected a name such as " +
              "EPERM, a number from 0 to 4095, or kill)");
    return false;
  }
  return true;
}

void Reader::system_call_filter(const toml::node& n) {
  std::vector<std::pair<std::string, const toml::node*>> items;
  bool ok = strings("system_call_filter", n, items);
  const bool allow_list = !items.empty() && !items.front().first.empty() && items.front().first.front() != '~';
  std::vector<std::string> out;
  for (auto& [entry, node] : items) {
    if (syscall_entry(entry, *node, allow_list)) {
      out.push_back(entry);
    } else {
      ok = false;
    }
  }
  if (ok) out_.system_call_filter = std::move(out);
}

}  // namespace

void load_sandbox(const toml::node& node, std::string_view where, SandboxConfig& sandbox,
                  const SandboxErrorSink& error) {
  const toml::table* table = node.as_table();
  if (!table) {
    error(node.source().begin, "'sandbox' must be a table, not " + std::string(type_name(node)));
    return;
  }
  Reader(where, sandbox, error).table(*table);
}

}  // namespace superd
