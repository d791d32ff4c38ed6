#include "import/unit_file.h"

namespace superd::importer {

bool has_suffix(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// ---- Reading -------------------------------------------------------------------------------

namespace {

void parse_line(std::string_view text, int line, const std::string& file, UnitText& unit, Import& im) {
  text = trim(text);
  if (text.empty() || text[0] == '#' || text[0] == ';') return;
  if (text[0] == '[') {
    if (text.back() != ']' || text.size() < 3) {
      im.error({file, line}, "invalid section header '" + std::string(text) + "'");
      return;
    }
    unit.sections.push_back({std::string(text.substr(1, text.size() - 2)), line});
    return;
  }
  if (unit.sections.empty()) {
    im.error({file, line}, "assignment outside of any section: '" + std::string(text) + "'");
    return;
  }
  size_t eq = text.find('=');
  if (eq == std::string_view::npos) {
    im.error({file, line}, "expected Key=Value, found '" + std::string(text) + "'");
    return;
  }
  std::string key(trim(text.substr(0, eq)));
  if (key.empty()) {
    im.error({file, line}, "missing key before '=' in '" + std::string(text) + "'");
    return;
  }
  unit.entries.push_back({unit.sections.back().name, key, std::string(trim(text.substr(eq + 1))), line});
}

}  // namespace

UnitText read_unit(const SourceFile& f, Import& im) {
  UnitText unit;
  std::string_view text = f.text;
  if (text.substr(0, 3) == "\xef\xbb\xbf") text.remove_prefix(3);
  std::string continuation;
  int continuation_line = 0;
  int line = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    std::string_view raw = text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    pos = nl == std::string_view::npos ? text.size() : nl + 1;
    ++line;
    while (!raw.empty() && (raw.back() == '\r' || raw.back() == '\n')) raw.remove_suffix(1);
    std::string_view lead = trim(raw);
    if (!lead.empty() && (lead[0] == '#' || lead[0] == ';')) continue;
    std::string joined = continuation.empty() ? std::string(raw) : continuation + std::string(raw);
    int start = continuation.empty() ? line : continuation_line;
    bool escaped = false;
    for (char c : joined) escaped = escaped ? false : c == '\\';
    if (escaped) {
      joined.back() = ' ';
      continuation = std::move(joined);
      continuation_line = start;
      continue;
    }
    continuation.clear();
    parse_line(joined, start, f.path, unit, im);
  }
  if (!continuation.empty()) parse_line(continuation, continuation_line, f.path, unit, im);
  return unit;
}

}  // namespace superd::importer
