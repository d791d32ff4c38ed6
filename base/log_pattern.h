// A `log` readiness pattern: the regular expression compiled once, when the config is
// loaded, and shared by every start of the service and every copy of its config. Two
// patterns are equal when their source text is (that is what reload-config compares).
#pragma once

#include <memory>
#include <optional>
#include <regex>
#include <string>
#include <string_view>

namespace superd {

class LogPattern {
 public:
  LogPattern() = default;  // matches nothing
  // ECMAScript syntax; nullopt with *error = std::regex_error's text on a bad pattern.
  static std::optional<LogPattern> compile(std::string source, std::string* error);

  const std::string& source() const { return source_; }
  bool compiled() const { return regex_ != nullptr; }
  // Whether the pattern occurs anywhere in `text`. libstdc++'s matcher recurses per
  // character, so the caller bounds how much of a line it passes.
  bool search(std::string_view text) const;

  bool operator==(const LogPattern& other) const { return source_ == other.source_; }

 private:
  std::string source_;
  std::shared_ptr<const std::regex> regex_;
};

}  // namespace superd
