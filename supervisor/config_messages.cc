// The config loader's messages: how a value, a type and a near-miss name are shown, and
// the list of errors put in file order.
#include <cstdio>
#include <tuple>

#include "supervisor/config_loader.h"

namespace superd::config_internal {

std::string quoted(std::string_view s) {
  constexpr size_t kMaxShown = 80;
  std::string out = "'";
  for (size_t i = 0; i < s.size() && i < kMaxShown; ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c == 0x7f) {
      char buf[8];
      snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    } else {
      out += s[i];
    }
  }
  if (s.size() > kMaxShown) out += "...";
  return out + "'";
}

std::string_view type_name(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::string: return "a string";
    case toml::node_type::integer: return "an integer";
    case toml::node_type::floating_point: return "a float";
    case toml::node_type::boolean: return "a boolean";
    case toml::node_type::date: return "a date";
    case toml::node_type::time: return "a time";
    case toml::node_type::date_time: return "a date-time";
    case toml::node_type::array: return "an array";
    case toml::node_type::table: return "a table";
    default: return "nothing";
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

std::string join_path(std::string_view dir, std::string_view name) {
  std::string out(dir);
  if (out.empty() || out.back() != '/') out += '/';
  return out + std::string(name);
}

std::vector<std::pair<std::string_view, const toml::node*>> in_file_order(const toml::table& table) {
  std::vector<std::pair<std::string_view, const toml::node*>> items;
  for (auto&& [key, node] : table) items.emplace_back(key.str(), &node);
  std::stable_sort(items.begin(), items.end(), [](const auto& a, const auto& b) {
    const auto& pa = a.second->source().begin;
    const auto& pb = b.second->source().begin;
    return std::tie(pa.line, pa.column) < std::tie(pb.line, pb.column);
  });
  return items;
}

SourcePos Errors::pos_of(const toml::source_position& p) const {
  auto clamp = [](toml::source_index i) { return static_cast<int>(std::min<toml::source_index>(i, INT_MAX)); };
  return {file_, clamp(p.line), clamp(p.column)};
}

std::vector<ConfigError> Errors::sorted() {
  std::stable_sort(entries_.begin(), entries_.end(), [](const Entry& a, const Entry& b) {
    return std::tie(a.line, a.col, a.seq) < std::tie(b.line, b.col, b.seq);
  });
  std::vector<ConfigError> out;
  std::set<std::tuple<std::string, int, int, std::string>> seen;
  for (auto& e : entries_) {
    const auto& p = e.error.pos;
    if (seen.emplace(p.file, p.line, p.col, e.error.message).second) out.push_back(std::move(e.error));
  }
  return out;
}

}  // namespace superd::config_internal
