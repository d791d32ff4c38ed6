// env_file parsing, following systemd's EnvironmentFile= where it has an opinion:
//  - `#` and `;` start a comment line; there are no comments after an unquoted value
//    (`A=b # c` is "b # c"), because values such as URLs and passwords contain `#`.
//  - Unquoted: the rest of the line with surrounding blanks trimmed; a backslash takes
//    the next character literally, a backslash at the end of a line continues it.
//  - 'single': literal up to the next quote, newlines included.
//  - "double": \" \\ \` \$ stand for the character, backslash-newline continues the
//    line, any other backslash stays (so "C:\temp" and regexes survive).
// Unlike systemd we refuse text after a closing quote (other than a # comment) instead
// of gluing it on: `A="x" # note` would otherwise silently become "x# note".
#include "base/env_file.h"

#include <optional>
#include <string>


namespace superd {
namespace {

bool is_blank(char c) { return c == ' ' || c == '\t'; }

bool is_name_start(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}

bool is_name_char(char c) { return is_name_start(c) || (c >= '0' && c <= '9'); }

bool is_valid_name(std::string_view name) {
  if (name.empty() || !is_name_start(name.front())) return false;
  for (char c : name) {
    if (!is_name_char(c)) return false;
  }
  return true;
}

std::string_view trim_blanks(std::string_view s) {
  while (!s.empty() && is_blank(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_blank(s.back())) s.remove_suffix(1);
  return s;
}

// Printable form of a bad name for an error message: control bytes shown as '?'.
std::string printable(std::string_view s) {
  std::string out;
  for (char c : s) out += (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) ? '?' : c;
  return out;
}

class Parser {
 public:
  explicit Parser(std::string text) : text_(std::move(text)) {}

  EnvFileResult run() {
    while (!at_end()) parse_entry();
    return std::move(result_);
  }

 private:
  bool at_end() const { return pos_ >= text_.size(); }
  char peek() const { return text_[pos_]; }

  char next() {
    char c = text_[pos_++];
    if (c == '\n') ++line_;
    return c;
  }

  void skip_blanks() {
    while (!at_end() && is_blank(peek())) ++pos_;
  }

  void skip_line() {
    while (!at_end() && peek() != '\n') ++pos_;
    if (!at_end()) next();
  }

  void error(int line, std::string message) { result_.errors.push_back({line, std::move(message)}); }

  // One KEY=VALUE entry, a comment or a blank line.
  void parse_entry() {
    skip_blanks();
    if (at_end()) return;
    if (peek() == '\n') {
      next();
      return;
    }
    if (peek() == '#' || peek() == ';') {
      skip_line();
      return;
    }
    int entry_line = line_;
    size_t eq = text_.find_first_of("=\n", pos_);
    if (eq == std::string::npos || text_[eq] != '=') {
      error(entry_line, "expected KEY=VALUE");
      skip_line();
      return;
    }
    std::string_view key = trim_blanks(std::string_view(text_).substr(pos_, eq - pos_));
    if (key.size() > 7 && key.substr(0, 6) == "export" && is_blank(key[6])) {
      key = trim_blanks(key.substr(7));
    }
    std::string name(key);
    pos_ = eq + 1;
    // The value is read even when the name is bad, so a quoted value spanning lines
    // is not mistaken for more entries.
    std::optional<std::string> value = parse_value(entry_line);
    if (name.empty()) {
      error(entry_line, "missing variable name before '='");
      return;
    }
    if (!is_valid_name(name)) {
      error(entry_line, "invalid variable name '" + printable(name) +
                            "' (use letters, digits and '_', not starting with a digit)");
      return;
    }
    if (!value) return;
    if (value->find('\0') != std::string::npos) {
      error(entry_line, "value of '" + name + "' contains a NUL byte");
      return;
    }
    result_.vars.emplace_back(std::move(name), std::move(*value));
  }

  // Reads from just after '=' to the end of the entry; nullopt after reporting an error.
  std::optional<std::string> parse_value(int entry_line) {
    skip_blanks();
    if (!at_end() && (peek() == '"' || peek() == '\'')) {
      char quote = next();
      std::optional<std::string> value =
          quote == '"' ? read_double_quoted(entry_line) : read_single_quoted(entry_line);
      if (!value) return std::nullopt;
      return finish_after_quote(entry_line) ? value : std::nullopt;
    }
    return read_unquoted();
  }

  std::optional<std::string> read_single_quoted(int entry_line) {
    std::string value;
    while (!at_end()) {
      char c = next();
      if (c == '\'') return value;
      value += c;
    }
    error(entry_line, "unterminated single quote");
    return std::nullopt;
  }

  std::optional<std::string> read_double_quoted(int entry_line) {
    std::string value;
    while (!at_end()) {
      char c = next();
      if (c == '"') return value;
      if (c != '\\' || at_end()) {
        value += c;
        continue;
      }
      char escaped = next();
      if (escaped == '\n') continue;  // line continuation
      if (escaped != '"' && escaped != '\\' && escaped != '`' && escaped != '$') value += '\\';
      value += escaped;
    }
    error(entry_line, "unterminated double quote");
    return std::nullopt;
  }

  // After a closing quote: blanks, then a comment or the end of the line.
  bool finish_after_quote(int entry_line) {
    skip_blanks();
    if (at_end()) return true;
    if (peek() == '\n' || peek() == '#') {
      skip_line();
      return true;
    }
    error(entry_line, "unexpected text after the closing quote");
    skip_line();
    return false;
  }

  std::string read_unquoted() {
    std::string value;
    size_t kept = 0;  // length up to the last character that trailing-trim must keep
    while (!at_end() && peek() != '\n') {
      char c = next();
      if (c == '\\') {
        if (at_end()) break;
        char escaped = next();
        if (escaped == '\n') continue;  // line continuation
        value += escaped;
        kept = value.size();
        continue;
      }
      value += c;
      if (!is_blank(c)) kept = value.size();
    }
    if (!at_end()) next();  // the newline
    value.resize(kept);
    return value;
  }

  std::string text_;
  size_t pos_ = 0;
  int line_ = 1;
  EnvFileResult result_;
};

// CRLF files are common when a .env was edited on Windows; a '\r' left at the end of a
// value would end up inside a password.
std::string normalize(std::string_view text) {
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);  // UTF-8 byte order mark
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\r' && i + 1 < text.size() && text[i + 1] == '\n') continue;
    out += text[i];
  }
  return out;
}

}  // namespace

EnvFileResult parse_env_file(std::string_view text) { return Parser(normalize(text)).run(); }

bool is_reserved_env_name(std::string_view name) {
  for (std::string_view reserved : kReservedEnvNames) {
    if (name == reserved) return true;
  }
  return false;
}

std::string env_file_problem(const std::string& path, const PathProblem& problem) {
  return problem.explain("env_file", path, "superd reads it as root");
}

std::optional<std::vector<std::pair<std::string, std::string>>> read_env_file(
    const std::string& path, const PathTrust& trust, std::string* error) {
  auto text = read_safe_file(path, trust, kMaxEnvFileBytes);
  if (auto* problem = std::get_if<PathProblem>(&text)) {
    *error = env_file_problem(path, *problem);
    return std::nullopt;
  }
  EnvFileResult parsed = parse_env_file(std::get<std::string>(text));
  if (!parsed.errors.empty()) {
    const auto& e = parsed.errors.front();
    *error = path + ":" + std::to_string(e.line) + ": " + e.message;
    return std::nullopt;
  }
  return std::move(parsed.vars);
}

}  // namespace superd
