// The values `superd import` translates: systemd time spans, signal names, octal umasks.
#include <cstdio>
#include <limits>

#include "base/values.h"
#include "import/import.h"

namespace superd::importer {

std::optional<uint64_t> parse_timespan_us(std::string_view text) {
  struct Unit {
    std::string_view name;
    uint64_t us;
  };
  static constexpr Unit kUnits[] = {
      {"usec", 1}, {"us", 1}, {"\xc2\xb5s", 1}, {"\xce\xbcs", 1},
      {"msec", 1000}, {"ms", 1000},
      {"seconds", 1000000}, {"second", 1000000}, {"sec", 1000000}, {"s", 1000000},
      {"minutes", 60000000}, {"minute", 60000000}, {"min", 60000000}, {"m", 60000000},
      {"hours", 3600000000ull}, {"hour", 3600000000ull}, {"hr", 3600000000ull}, {"h", 3600000000ull},
      {"days", 86400000000ull}, {"day", 86400000000ull}, {"d", 86400000000ull},
      {"weeks", 604800000000ull}, {"week", 604800000000ull}, {"w", 604800000000ull},
      {"months", 2629800000000ull}, {"month", 2629800000000ull}, {"M", 2629800000000ull},
      {"years", 31557600000000ull}, {"year", 31557600000000ull}, {"y", 31557600000000ull},
  };
  text = trim(text);
  if (text == "infinity") return std::numeric_limits<uint64_t>::max();
  if (text.empty()) return std::nullopt;
  long double total = 0;
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && is_whitespace(text[i])) ++i;
    if (i >= text.size()) break;
    size_t start = i;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') ++i;
    size_t int_end = i;
    size_t frac_end = i;
    if (i < text.size() && text[i] == '.') {
      ++i;
      while (i < text.size() && text[i] >= '0' && text[i] <= '9') ++i;
      frac_end = i;
    }
    if (int_end == start && frac_end <= int_end + 1) return std::nullopt;  // no digits
    if (frac_end - start > 30) return std::nullopt;
    long double number = std::stold(std::string(text.substr(start, frac_end - start)));
    while (i < text.size() && is_whitespace(text[i])) ++i;
    size_t unit_start = i;
    while (i < text.size() && !is_whitespace(text[i]) && !(text[i] >= '0' && text[i] <= '9') && text[i] != '.') ++i;
    std::string_view unit = text.substr(unit_start, i - unit_start);
    uint64_t scale = 0;
    if (unit.empty()) {
      // A bare number is seconds, and only as the last component.
      while (i < text.size() && is_whitespace(text[i])) ++i;
      if (i < text.size()) return std::nullopt;
      scale = 1000000;
    } else {
      for (const Unit& u : kUnits) {
        if (u.name == unit) scale = u.us;
      }
      if (scale == 0) return std::nullopt;
    }
    total += number * static_cast<long double>(scale);
  }
  if (total >= static_cast<long double>(std::numeric_limits<uint64_t>::max())) return std::nullopt;
  return static_cast<uint64_t>(total + 0.5L);
}

std::string format_duration_us(uint64_t us) {
  uint64_t ms = us / 1000 + (us % 1000 ? 1 : 0);
  if (ms == 0) return "0s";
  if (ms % 3600000 == 0) return std::to_string(ms / 3600000) + "h";
  if (ms % 60000 == 0) return std::to_string(ms / 60000) + "m";
  if (ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

std::optional<std::string> normalize_signal(std::string_view text) {
  auto number = parse_signal(trim(text), nullptr);
  if (!number) return std::nullopt;
  std::string name = signal_name(*number);
  // A number without a name (the realtime signals) stays a number.
  if (name.rfind("SIG", 0) == 0) return std::to_string(*number);
  return name;
}

std::optional<std::string> normalize_umask(std::string_view text) {
  auto mask = parse_umask(trim(text), nullptr);
  if (!mask) return std::nullopt;
  char buf[8];
  std::snprintf(buf, sizeof buf, "%03o", static_cast<unsigned>(*mask));
  return std::string(buf);
}

}  // namespace superd::importer
