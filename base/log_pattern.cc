#include "base/log_pattern.h"

#include <string>

namespace superd {
namespace {

// libstdc++ reads a repetition count ({m}, {m,}, {m,n}) and a back-reference (\N) into a
// long without a bound: signed overflow, undefined, on {4444444444444444444} or on
// \44444444444444444444 (the fuzzer found both). A large count also builds a state
// machine of that many copies. Both are refused before libstdc++ sees them.
constexpr size_t kMaxRepeat = 1000;
constexpr size_t kMaxBackrefDigits = 3;  // \999; a pattern has fewer groups than that

std::string shown(const std::string& digits) {
  return digits.size() > 20 ? digits.substr(0, 20) + "..." : digits;
}

size_t digits_end(const std::string& s, size_t from) {
  while (from < s.size() && s[from] >= '0' && s[from] <= '9') ++from;
  return from;
}

// The error for the first too-large count in {...} starting at `open`, or "".
std::string check_braces(const std::string& source, size_t open) {
  for (size_t j = open + 1; j < source.size() && source[j] != '}'; ++j) {
    if (source[j] == ',') continue;
    if (source[j] < '0' || source[j] > '9') break;
    const size_t end = digits_end(source, j);
    const std::string digits = source.substr(j, end - j);
    if (digits.size() > 4 || std::stoul(digits) > kMaxRepeat) {
      return "a repetition count of at most " + std::to_string(kMaxRepeat) + " is supported, not " + shown(digits);
    }
    j = end - 1;
  }
  return "";
}

// Why libstdc++ must not compile `source`, or "" when it may.
std::string unsupported(const std::string& source) {
  bool in_class = false;
  for (size_t i = 0; i < source.size(); ++i) {
    const char c = source[i];
    if (c == '\\') {
      const size_t end = digits_end(source, i + 1);  // \N is read as a number in or out of [...]
      if (end - (i + 1) > kMaxBackrefDigits) {
        return "a back-reference of at most \\999 is supported, not \\" + shown(source.substr(i + 1, end - i - 1));
      }
      i = end > i + 1 ? end - 1 : i + 1;  // an escaped character is a literal
    } else if (in_class) {
      in_class = c != ']';
    } else if (c == '[') {
      in_class = true;  // (in ECMAScript, [] is an empty class: ] closes at once)
    } else if (c == '{') {
      if (std::string why = check_braces(source, i); !why.empty()) return why;
    }
  }
  return "";
}

}  // namespace

std::optional<LogPattern> LogPattern::compile(std::string source, std::string* error) {
  if (std::string why = unsupported(source); !why.empty()) {
    if (error) *error = std::move(why);
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
