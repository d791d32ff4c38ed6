#include "supervisor/config_resources_load.h"

#include <algorithm>
#include <vector>

#include "base/values.h"

namespace superd {
namespace {

constexpr int64_t kMaxPids = 4194304;  // PID_MAX_LIMIT
constexpr int64_t kMaxCpuWeight = 10000;
constexpr int64_t kMaxCpuPercent = 100000;

std::string quoted(std::string_view s) {
  constexpr size_t kMaxShown = 80;
  std::string out = "'";
  for (size_t i = 0; i < s.size() && i < kMaxShown; ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c == 0x7f) {
      static const char hex[] = "0123456789abcdef";
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 15];
    } else {
      out += s[i];
    }
  }
  if (s.size() > kMaxShown) out += "...";
  return out + "'";
}

std::string type_name(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::string: return "a string";
    case toml::node_type::integer: return "an integer";
    case toml::node_type::floating_point: return "a float";
    case toml::node_type::boolean: return "a boolean";
    case toml::node_type::array: return "an array";
    case toml::node_type::table: return "a table";
    default: return "a date or time";
  }
}

size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] != b[j - 1] ? 1 : 0)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

std::string suggestion(std::string_view word) {
  if (word.size() > 64) return "";
  for (auto key : kResourcesKeys) {
    if (edit_distance(word, key) <= 2) return " (did you mean '" + std::string(key) + "'?)";
  }
  return "";
}

std::optional<uint64_t> read_size(const toml::node& n, std::string_view key, const ConfigErrorSink& error) {
  const std::string label = "'" + std::string(key) + "'";
  std::optional<uint64_t> size;
  if (const auto* i = n.as_integer()) {
    if (i->get() < 0) {
      error(n, label + " must not be negative");
      return std::nullopt;
    }
    size = static_cast<uint64_t>(i->get());
  } else if (const auto* s = n.as_string()) {
    std::string why;
    size = parse_size(s->get(), &why);
    if (!size) {
      error(n, "invalid size " + quoted(s->get()) + " for " + label + ": " + why);
      return std::nullopt;
    }
  } else {
    error(n, label + " must be a size (a string like \"1GB\" or integer bytes), not " + type_name(n));
    return std::nullopt;
  }
  if (*size == 0) {
    error(n, label + " must be greater than zero");
    return std::nullopt;
  }
  return size;
}

std::optional<int64_t> read_int(const toml::node& n, std::string_view key, int64_t min, int64_t max,
                                const ConfigErrorSink& error) {
  const std::string label = "'" + std::string(key) + "'";
  const auto* i = n.as_integer();
  if (!i) {
    error(n, label + " must be an integer, not " + type_name(n));
    return std::nullopt;
  }
  if (i->get() < min || i->get() > max) {
    error(n, label + " must be from " + std::to_string(min) + " to " + std::to_string(max) + ", not " +
                 std::to_string(i->get()));
    return std::nullopt;
  }
  return i->get();
}

std::optional<uint32_t> read_percent(const toml::node& n, std::string_view key, const ConfigErrorSink& error) {
  const std::string label = "'" + std::string(key) + "'";
  const auto* s = n.as_string();
  if (!s) {
    error(n, label + " must be a percentage of one CPU (a string like \"150%\"), not " + type_name(n));
    return std::nullopt;
  }
  std::string_view text = s->get();
  const std::string bad = "invalid " + label + " value " + quoted(text);
  if (text.size() < 2 || text.back() != '%') {
    error(n, bad + ": expected a percentage of one CPU, like \"150%\"");
    return std::nullopt;
  }
  text.remove_suffix(1);
  int64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9' || value > kMaxCpuPercent) {
      error(n, bad + ": expected a whole number of percent, like \"150%\"");
      return std::nullopt;
    }
    value = value * 10 + (c - '0');
  }
  if (value < 1 || value > kMaxCpuPercent) {
    error(n, bad + ": must be from 1% to " + std::to_string(kMaxCpuPercent) + "%");
    return std::nullopt;
  }
  return static_cast<uint32_t>(value);
}

}  // namespace

bool load_resources(const toml::node& node, std::string_view where, ResourcesConfig& out,
                    const ConfigErrorSink& error) {
  const toml::table* table = node.as_table();
  if (!table) {
    error(node, "'resources' must be a table, not " + type_name(node));
    return false;
  }
  // toml++ keeps keys sorted; report in the operator's order.
  std::vector<std::pair<std::string_view, const toml::node*>> items;
  for (auto&& [key, value] : *table) items.emplace_back(key.str(), &value);
  std::stable_sort(items.begin(), items.end(), [](const auto& a, const auto& b) {
    const auto& pa = a.second->source().begin;
    const auto& pb = b.second->source().begin;
    return std::tie(pa.line, pa.column) < std::tie(pb.line, pb.column);
  });

  bool ok = true;
  const toml::node* high_node = nullptr;
  auto take = [&ok](auto& field, auto value) {
    if (value) {
      field = *value;
    } else {
      ok = false;
    }
  };
  for (auto [key, n] : items) {
    if (key == "memory_max") {
      take(out.memory_max, read_size(*n, key, error));
    } else if (key == "memory_high") {
      take(out.memory_high, read_size(*n, key, error));
      high_node = n;
    } else if (key == "pids_max") {
      auto v = read_int(*n, key, 1, kMaxPids, error);
      take(out.pids_max, v ? std::optional<uint64_t>(static_cast<uint64_t>(*v)) : std::nullopt);
    } else if (key == "cpu_weight") {
      auto v = read_int(*n, key, 1, kMaxCpuWeight, error);
      take(out.cpu_weight, v ? std::optional<uint32_t>(static_cast<uint32_t>(*v)) : std::nullopt);
    } else if (key == "cpu_max") {
      take(out.cpu_max_percent, read_percent(*n, key, error));
    } else {
      error(*n, "unknown key " + quoted(key) + " in the resources of " + std::string(where) + suggestion(key));
      ok = false;
    }
  }
  if (ok && high_node && out.memory_max && out.memory_high && *out.memory_high > *out.memory_max) {
    error(*high_node, "'memory_high' (" + format_size(*out.memory_high) + ") is above 'memory_max' (" +
                          format_size(*out.memory_max) + "): the hard limit would act first");
    ok = false;
  }
  return ok;
}

std::optional<CgroupSetting> load_cgroup_setting(const toml::node& node, const ConfigErrorSink& error) {
  const auto* s = node.as_string();
  if (!s) {
    error(node, "'cgroup' must be \"auto\", \"off\" or a path, not " + type_name(node));
    return std::nullopt;
  }
  const std::string& text = s->get();
  CgroupSetting setting;
  if (text == "auto") return setting;
  if (text == "off") {
    setting.mode = CgroupSetting::Mode::off;
    return setting;
  }
  constexpr std::string_view kPrefix = "/sys/fs/cgroup/";
  bool bad = text.compare(0, kPrefix.size(), kPrefix) != 0 || text.size() == kPrefix.size() ||
             text.find('\0') != std::string::npos || text.find('\n') != std::string::npos;
  for (size_t i = 0; !bad && i < text.size();) {
    size_t end = text.find('/', i + 1);
    std::string_view part = std::string_view(text).substr(i + 1, end == std::string::npos ? end : end - i - 1);
    bad = part == "." || part == ".." || (part.empty() && end != std::string::npos);
    i = end == std::string::npos ? text.size() : end;
  }
  if (bad) {
    error(node, "invalid 'cgroup' value " + quoted(text) +
                    " (expected \"auto\", \"off\" or an absolute path below /sys/fs/cgroup/)");
    return std::nullopt;
  }
  setting.mode = CgroupSetting::Mode::path;
  setting.path = text;
  while (setting.path.size() > 1 && setting.path.back() == '/') setting.path.pop_back();
  return setting;
}

std::string format_size(uint64_t bytes) {
  struct Unit {
    uint64_t size;
    const char* name;
  };
  static constexpr Unit kUnits[] = {{1000000000, "GB"},
                                    {1ull << 30, "GiB"},      {1000000, "MB"},     {1ull << 20, "MiB"},
                                    {1000, "KB"},             {1024, "KiB"}};
  for (const auto& u : kUnits) {
    if (bytes >= u.size && bytes % u.size == 0) return std::to_string(bytes / u.size) + u.name;
  }
  return std::to_string(bytes) + "B";
}

}  // namespace superd
