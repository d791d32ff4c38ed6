// Tiny text helpers every room uses, so no room carries its own copy.
#pragma once

#include <string_view>

namespace superd {

inline constexpr std::string_view kBlanks = " \t";
inline constexpr std::string_view kWhitespace = " \t\n\r";

constexpr bool is_whitespace(char c) { return kWhitespace.find(c) != std::string_view::npos; }

// `text` without leading and trailing characters of `chars`.
constexpr std::string_view trim(std::string_view text, std::string_view chars = kWhitespace) {
  const size_t b = text.find_first_not_of(chars);
  if (b == std::string_view::npos) return {};
  const size_t e = text.find_last_not_of(chars);
  return text.substr(b, e - b + 1);
}

constexpr char ascii_lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

constexpr bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
  }
  return true;
}

}  // namespace superd
