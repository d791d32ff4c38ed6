#include "base/log_pattern.h"

#include <string>

namespace superd {
namespace {

// The first repetition count above kMaxRepeat in {m}, {m,} or {m,n} (outside [...] and
// not escaped), as written; empty when there is none. libstdc++ reads the count into a
// long without a bound (signed overflow, undefined, on {4444444444444444444}), and a large
// one builds a state machine of that many copies: both are refused before it sees them.
constexpr size_t kMaxRepeat = 1000;

std::string too_large_repeat(const std::string& source) {
  bool in_class = false;
  for (size_t i = 0; i < source.size(); ++i) {
    const char c = source[i];
    if (c == '\\') {
      ++i;  // the escaped character is a literal
    } else if (in_class) {
      in_class = c != ']';
    } else if (c == '[') {
      in_class = true;  // (in ECMAScript, [] is an empty class: ] closes at once)
    } else if (c == '{') {
      for (size_t j = i + 1; j < source.size() && source[j] != '}'; ++j) {
        if (source[j] == ',') continue;
        if (source[j] < '0' || source[j] > '9') break;
        size_t end = j;
        while (end < source.size() && source[end] >= '0' && source[end] <= '9') ++end;
        const std::string digits = source.substr(j, end - j);
        if (digits.size() > 4 || std::stoul(digits) > kMaxRepeat) return digits;
        j = end - 1;
      }
    }
  }
  return "";
}

}  // namespace

std::optional<LogPattern> LogPattern::compile(std::string source, std::string* error) {
  if (const std::string count = too_large_repeat(source); !count.empty()) {
    if (error) {
      *error = "a repetition count of at most " + std::to_string(kMaxRepeat) + " is supported, not " +
               (count.size() > 20 ? count.substr(0, 20) + "..." : count);
    }
    return std::nullopt;
  }
  LogPattern p;
  try {
    p.regex_ = std::make_shared<const std::regex>(source, std::regex::ECMAScript);
  } catch (const std::regex_error& e) {
    if (error) *error = e.what();
    return std::nullopt;
  }
  p.source_ = std::move(source);
  return p;
}

bool LogPattern::search(std::string_view text) const {
  return regex_ && std::regex_search(text.begin(), text.end(), *regex_);
}

}  // namespace superd
