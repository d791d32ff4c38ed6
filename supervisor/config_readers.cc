// Pass 1, one value at a time: a TOML node to a typed value (string, path, name, bool,
// bounded integer, duration, size, signal, choice, table, limit), or nullopt after the
// reason is recorded at the node.
#include "base/values.h"
#include "supervisor/config_loader.h"

namespace superd::config_internal {

std::optional<std::string> Loader::read_string(const toml::node& n, std::string_view key) {
  const auto* value = n.as_string();
  if (!value) {
    errors_.at(n, "'" + std::string(key) + "' must be a string, not " + std::string(type_name(n)));
    return std::nullopt;
  }
  // TOML allows "\u0000"; no path, name or argument handed to the kernel can hold one.
  if (value->get().find('\0') != std::string::npos) {
    errors_.at(n, "'" + std::string(key) + "' must not contain a NUL character");
    return std::nullopt;
  }
  return value->get();
}

std::optional<std::string> Loader::read_absolute_path(const toml::node& n, std::string_view key) {
  auto s = read_string(n, key);
  if (s && !is_absolute(*s)) {
    errors_.at(n, "'" + std::string(key) + "' must be an absolute path, not " + quoted(*s));
    return std::nullopt;
  }
  return s;
}

// A user or group name: non-empty (leaving the key out is how to mean "superd's own").
std::optional<std::string> Loader::read_name(const toml::node& n, std::string_view key) {
  auto s = read_string(n, key);
  if (s && s->empty()) {
    errors_.at(n, "'" + std::string(key) + "' must not be empty");
    return std::nullopt;
  }
  return s;
}

std::optional<bool> Loader::read_bool(const toml::node& n, std::string_view key) {
  if (const auto* value = n.as_boolean()) return value->get();
  errors_.at(n, "'" + std::string(key) + "' must be a boolean, not " + std::string(type_name(n)));
  return std::nullopt;
}

std::optional<int64_t> Loader::read_int(const toml::node& n, std::string_view key, int64_t min, int64_t max) {
  const auto* value = n.as_integer();
  if (!value) {
    errors_.at(n, "'" + std::string(key) + "' must be an integer, not " + std::string(type_name(n)));
    return std::nullopt;
  }
  int64_t v = value->get();
  if (v < min) {
    errors_.at(n, "'" + std::string(key) + "' must be at least " + std::to_string(min) + ", not " + std::to_string(v));
    return std::nullopt;
  }
  if (v > max) {
    errors_.at(n, "'" + std::string(key) + "' must be at most " + std::to_string(max) + ", not " + std::to_string(v));
    return std::nullopt;
  }
  return v;
}

std::optional<Duration> Loader::read_duration(const toml::node& n, std::string_view key, bool positive) {
  const std::string label = "'" + std::string(key) + "'";
  std::optional<Duration> d;
  if (const auto* i = n.as_integer()) {
    int64_t seconds = i->get();
    if (seconds < 0) {
      errors_.at(n, label + " must not be negative");
      return std::nullopt;
    }
    // Compared in seconds first, so the conversion below cannot overflow.
    if (seconds > std::chrono::duration_cast<std::chrono::seconds>(kMaxDuration).count()) {
      errors_.at(n, label + " is longer than the maximum of " + format_duration(kMaxDuration));
      return std::nullopt;
    }
    d = std::chrono::seconds(seconds);
  } else if (const auto* s = n.as_string()) {
    std::string why;
    d = parse_duration(s->get(), &why);
    if (!d) {
      errors_.at(n, "invalid duration " + quoted(s->get()) + " for " + label + ": " + why);
      return std::nullopt;
    }
    if (*d > kMaxDuration) {
      errors_.at(n, label + " is longer than the maximum of " + format_duration(kMaxDuration));
      return std::nullopt;
    }
  } else {
    errors_.at(n, label + " must be a duration (a string like \"30s\" or integer seconds), not " +
                      std::string(type_name(n)));
    return std::nullopt;
  }
  if (positive && d->count() == 0) {
    errors_.at(n, label + " must be greater than zero");
    return std::nullopt;
  }
  return d;
}

std::optional<uint64_t> Loader::read_size(const toml::node& n, std::string_view key) {
  const std::string label = "'" + std::string(key) + "'";
  if (const auto* i = n.as_integer()) {
    if (i->get() < 0) {
      errors_.at(n, label + " must not be negative");
      return std::nullopt;
    }
    return static_cast<uint64_t>(i->get());
  }
  if (const auto* s = n.as_string()) {
    std::string why;
    auto size = parse_size(s->get(), &why);
    if (!size) errors_.at(n, "invalid size " + quoted(s->get()) + " for " + label + ": " + why);
    return size;
  }
  errors_.at(n, label + " must be a size (a string like \"50MB\" or integer bytes), not " + std::string(type_name(n)));
  return std::nullopt;
}

std::optional<int> Loader::read_signal(const toml::node& n, std::string_view key) {
  const std::string label = "'" + std::string(key) + "'";
  if (const auto* i = n.as_integer()) {
    if (i->get() < 1 || i->get() > 64) {
      errors_.at(n, "invalid signal " + std::to_string(i->get()) + " for " + label + ": signal numbers are 1 to 64");
      return std::nullopt;
    }
    return static_cast<int>(i->get());
  }
  if (const auto* s = n.as_string()) {
    std::string why;
    auto signo = parse_signal(s->get(), &why);
    if (!signo) errors_.at(n, "invalid signal " + quoted(s->get()) + " for " + label + ": " + why);
    return signo;
  }
  errors_.at(n, label + " must be a signal name or number, not " + std::string(type_name(n)));
  return std::nullopt;
}

// The strings of an array (and their nodes). False, after reporting, when it is not an
// array of strings; the strings that were found are still returned, so checks of their
// own (listen addresses) run too and one bad element does not hide another.
bool Loader::read_string_array(const toml::node& n, std::string_view key, std::vector<std::string>& out,
                               std::vector<const toml::node*>* element_nodes) {
  const auto* array = n.as_array();
  if (!array) {
    errors_.at(n, "'" + std::string(key) + "' must be an array of strings, not " + std::string(type_name(n)));
    return false;
  }
  bool ok = true;
  for (const toml::node& element : *array) {
    if (!element.is_string()) {
      errors_.at(element, "'" + std::string(key) + "' must be an array of strings, but this is " +
                              std::string(type_name(element)));
      ok = false;
      continue;
    }
    auto s = read_string(element, key);
    if (!s) {
      ok = false;
      continue;
    }
    out.push_back(std::move(*s));
    if (element_nodes) element_nodes->push_back(&element);
  }
  return ok;
}

std::optional<std::string> Loader::read_choice(const toml::node& n, std::string_view key,
                                               std::initializer_list<std::string_view> choices) {
  auto s = read_string(n, key);
  if (!s) return std::nullopt;
  if (std::find(choices.begin(), choices.end(), *s) != choices.end()) return s;
  std::string expected;
  size_t i = 0;
  for (auto c : choices) {
    if (i > 0) expected += (i + 1 == choices.size()) ? " or " : ", ";
    expected += c;
    ++i;
  }
  errors_.at(n, "invalid '" + std::string(key) + "' value " + quoted(*s) + " (expected " + expected + ")");
  return std::nullopt;
}

const toml::table* Loader::read_table(const toml::node& n, std::string_view key) {
  const auto* table = n.as_table();
  if (!table) errors_.at(n, "'" + std::string(key) + "' must be a table, not " + std::string(type_name(n)));
  return table;
}

// A limit value: a non-negative integer, or "infinity" (systemd's word; "unlimited",
// ulimit's, is accepted too).
bool Loader::read_limit(rlim_t& limit, const toml::node& n, const std::string& label) {
  if (const auto* s = n.as_string()) {
    if (s->get() == "infinity" || s->get() == "unlimited") {
      limit = RLIM_INFINITY;
      return true;
    }
    errors_.at(n, "invalid '" + label + "' value " + quoted(s->get()) + " (expected an integer or \"infinity\")");
    return false;
  }
  if (!n.is_integer()) {
    errors_.at(n, "'" + label + "' must be an integer or \"infinity\", not " + std::string(type_name(n)));
    return false;
  }
  return assign(limit, read_int(n, label, 0, INT64_MAX));
}

std::optional<std::string> Loader::read_log_path(const toml::node& n, std::string_view key) {
  auto s = read_string(n, key);
  if (s && s->empty()) {
    errors_.at(n, "'" + std::string(key) + "' must not be empty");
    return std::nullopt;
  }
  return s;
}

}  // namespace superd::config_internal
