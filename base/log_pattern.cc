#include "base/log_pattern.h"

namespace superd {

std::optional<LogPattern> LogPattern::compile(std::string source, std::string* error) {
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
