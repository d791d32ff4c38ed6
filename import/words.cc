// systemd's and shlex's word splitting, as `superd import` reads ExecStart= and command=.
#include <algorithm>
#include <cctype>
#include <cstdio>
#include <limits>

#include "base/values.h"
#include "import/import.h"

namespace superd::importer {
namespace {

void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xc0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xe0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  } else {
    out += static_cast<char>(0xf0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  }
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// systemd's cunescape_one: the escape after a backslash at text[i]. Returns the number of
// characters consumed after the backslash and appends the decoded text, or 0 when the
// escape is unknown (the caller keeps it as written, as EXTRACT_CUNESCAPE_RELAX does).
size_t unescape_one(std::string_view text, size_t i, std::string& out) {
  if (i >= text.size()) return 0;
  switch (text[i]) {
    case 'a': out += '\a'; return 1;
    case 'b': out += '\b'; return 1;
    case 'f': out += '\f'; return 1;
    case 'n': out += '\n'; return 1;
    case 'r': out += '\r'; return 1;
    case 't': out += '\t'; return 1;
    case 'v': out += '\v'; return 1;
    case 's': out += ' '; return 1;
    case '\\': case '"': case '\'': out += text[i]; return 1;
    case 'x': {
      if (i + 2 >= text.size()) return 0;
      int a = hex_value(text[i + 1]), b = hex_value(text[i + 2]);
      if (a < 0 || b < 0 || (a == 0 && b == 0)) return 0;
      out += static_cast<char>(a * 16 + b);
      return 3;
    }
    case 'u': case 'U': {
      size_t digits = text[i] == 'u' ? 4 : 8;
      if (i + digits >= text.size()) return 0;
      uint32_t cp = 0;
      for (size_t k = 1; k <= digits; ++k) {
        int v = hex_value(text[i + k]);
        if (v < 0) return 0;
        cp = cp * 16 + static_cast<uint32_t>(v);
      }
      if (cp == 0 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
      append_utf8(out, cp);
      return digits + 1;
    }
    default:
      if (text[i] >= '0' && text[i] <= '7') {
        if (i + 2 >= text.size()) return 0;
        int v = 0;
        for (size_t k = 0; k < 3; ++k) {
          char c = text[i + k];
          if (c < '0' || c > '7') return 0;
          v = v * 8 + (c - '0');
        }
        if (v == 0 || v > 0xff) return 0;
        out += static_cast<char>(v);
        return 3;
      }
      return 0;
  }
}

}  // namespace

std::optional<std::vector<std::string>> split_systemd_words(std::string_view text, std::string* error) {
  std::vector<std::string> words;
  size_t i = 0;
  while (true) {
    while (i < text.size() && is_whitespace(text[i])) ++i;
    if (i >= text.size()) break;
    std::string word;
    char quote = 0;
    for (; i < text.size(); ++i) {
      char c = text[i];
      if (!quote && is_whitespace(c)) break;
      if (c == '\\') {
        if (i + 1 >= text.size()) {  // a lone trailing backslash stays
          word += c;
          continue;
        }
        size_t used = unescape_one(text, i + 1, word);
        if (used == 0) {
          word += c;
          word += text[i + 1];
          used = 1;
        }
        i += used;
      } else if (quote && c == quote) {
        quote = 0;
      } else if (!quote && (c == '\'' || c == '"')) {
        quote = c;
      } else {
        word += c;
      }
    }
    if (quote) {
      *error = std::string("unbalanced quoting: no closing ") + quote;
      return std::nullopt;
    }
    words.push_back(std::move(word));
  }
  return words;
}

std::optional<std::vector<std::string>> split_shell_words(std::string_view text, std::string* error) {
  std::vector<std::string> words;
  std::string word;
  bool in_word = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (is_whitespace(c)) {
      if (in_word) words.push_back(std::move(word));
      word.clear();
      in_word = false;
    } else if (c == '\\') {
      if (i + 1 >= text.size()) {
        *error = "no escaped character after the final backslash";
        return std::nullopt;
      }
      word += text[++i];
      in_word = true;
    } else if (c == '\'') {
      size_t close = text.find('\'', i + 1);
      if (close == std::string_view::npos) {
        *error = "no closing quotation (')";
        return std::nullopt;
      }
      word += text.substr(i + 1, close - i - 1);
      i = close;
      in_word = true;
    } else if (c == '"') {
      // Inside double quotes a backslash escapes only '"' and itself (shlex's escapedquotes).
      size_t j = i + 1;
      for (; j < text.size() && text[j] != '"'; ++j) {
        if (text[j] == '\\' && j + 1 < text.size() && (text[j + 1] == '"' || text[j + 1] == '\\')) ++j;
        word += text[j];
      }
      if (j >= text.size()) {
        *error = "no closing quotation (\")";
        return std::nullopt;
      }
      i = j;
      in_word = true;
    } else {
      word += c;
      in_word = true;
    }
  }
  if (in_word) words.push_back(std::move(word));
  return words;
}

}  // namespace superd::importer
