// The small languages `superd import` reads and writes: systemd's and shlex's word
// splitting, systemd time spans, signal names, octal umasks, TOML strings.
#include <algorithm>
#include <cctype>
#include <cstdio>
#include <limits>

#include "base/values.h"
#include "import/import.h"

namespace superd::importer {
namespace {

bool is_space(char c) { return kWhitespace.find(c) != std::string_view::npos; }

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
    while (i < text.size() && is_space(text[i])) ++i;
    if (i >= text.size()) break;
    std::string word;
    char quote = 0;
    for (; i < text.size(); ++i) {
      char c = text[i];
      if (!quote && is_space(c)) break;
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
    if (is_space(c)) {
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
    while (i < text.size() && is_space(text[i])) ++i;
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
    while (i < text.size() && is_space(text[i])) ++i;
    size_t unit_start = i;
    while (i < text.size() && !is_space(text[i]) && !(text[i] >= '0' && text[i] <= '9') && text[i] != '.') ++i;
    std::string_view unit = text.substr(unit_start, i - unit_start);
    uint64_t scale = 0;
    if (unit.empty()) {
      // A bare number is seconds, and only as the last component.
      while (i < text.size() && is_space(text[i])) ++i;
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

std::string toml_quote(std::string_view text) {
  std::string out = "\"";
  for (char ch : text) {
    unsigned char c = static_cast<unsigned char>(ch);
    switch (ch) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\t': out += "\\t"; break;
      case '\n': out += "\\n"; break;
      case '\f': out += "\\f"; break;
      case '\r': out += "\\r"; break;
      default:
        if (c < 0x20 || c == 0x7f) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04X", c);
          out += buf;
        } else {
          out += ch;
        }
    }
  }
  out += '"';
  return out;
}

std::string toml_key(std::string_view key) {
  bool bare = !key.empty();
  for (char c : key) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-')) bare = false;
  }
  return bare ? std::string(key) : toml_quote(key);
}

bool valid_env_name(std::string_view name) {
  if (name.empty() || (name[0] >= '0' && name[0] <= '9')) return false;
  for (char c : name) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_')) return false;
  }
  return true;
}

int first_binary_line(std::string_view text) {
  int line = 1;
  for (size_t i = 0; i < text.size();) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    if (c == '\n') {
      ++line;
      ++i;
      continue;
    }
    if (c < 0x80) {
      if ((c < 0x20 && c != '\t' && c != '\r' && c != '\f' && c != '\v') || c == 0x7f) return line;
      ++i;
      continue;
    }
    size_t len = (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 : (c & 0xf8) == 0xf0 ? 4 : 0;
    if (len == 0 || c == 0xc0 || c == 0xc1 || c > 0xf4 || i + len > text.size()) return line;
    uint32_t cp = c & (0xff >> (len + 1));
    for (size_t k = 1; k < len; ++k) {
      unsigned char cc = static_cast<unsigned char>(text[i + k]);
      if ((cc & 0xc0) != 0x80) return line;
      cp = (cp << 6) | (cc & 0x3f);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
        (cp >= 0xd800 && cp <= 0xdfff)) {
      return line;
    }
    i += len;
  }
  return 0;
}

std::string shorten(std::string_view value) {
  std::string out;
  for (char c : value) out += (c == '\n' || c == '\r' || c == '\t') ? ' ' : c;
  constexpr size_t kMax = 100;
  if (out.size() > kMax) {
    size_t cut = kMax - 3;
    while (cut > 0 && (static_cast<unsigned char>(out[cut]) & 0xc0) == 0x80) --cut;  // keep UTF-8 whole
    out = out.substr(0, cut) + "...";
  }
  return out;
}

namespace {

std::string basename_of(std::string_view path) {
  size_t slash = path.rfind('/');
  return std::string(slash == std::string_view::npos ? path : path.substr(slash + 1));
}

}  // namespace

bool is_shell_command(const std::vector<std::string>& argv) {
  static constexpr std::string_view kShells[] = {"sh", "bash", "dash", "ash", "ksh", "zsh"};
  if (argv.size() < 3) return false;
  std::string shell = basename_of(argv[0]);
  if (std::find(std::begin(kShells), std::end(kShells), shell) == std::end(kShells)) return false;
  const std::string& flags = argv[1];
  if (flags.size() < 2 || flags[0] != '-' || flags.back() != 'c') return false;
  return std::all_of(flags.begin() + 1, flags.end(), [](char c) { return std::isalpha(static_cast<unsigned char>(c)); });
}

std::string daemonize_warning(const std::vector<std::string>& argv) {
  std::vector<std::string> tokens = argv;
  if (is_shell_command(argv)) {
    std::string err;
    // The script's words, roughly: enough to see `celery ... multi start`.
    std::string_view script = argv[2];
    size_t i = 0;
    while (i < script.size()) {
      size_t b = script.find_first_not_of(" \t\n", i);
      if (b == std::string_view::npos) break;
      size_t e = script.find_first_of(" \t\n", b);
      tokens.emplace_back(script.substr(b, e == std::string_view::npos ? std::string_view::npos : e - b));
      i = e == std::string_view::npos ? script.size() : e;
    }
  }
  auto lower = [](std::string s) {
    for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
  };
  bool celery = false, gunicorn = false;
  for (const std::string& t : tokens) {
    std::string base = lower(basename_of(t));
    celery = celery || base.find("celery") != std::string::npos;
    gunicorn = gunicorn || base == "gunicorn";
  }
  static constexpr std::string_view kMultiVerbs[] = {"start", "restart", "stop", "stopwait", "kill"};
  for (size_t i = 0; i + 1 < tokens.size(); ++i) {
    if (celery && tokens[i] == "multi" &&
        std::find(std::begin(kMultiVerbs), std::end(kMultiVerbs), tokens[i + 1]) != std::end(kMultiVerbs)) {
      return "`celery multi` starts detached workers and exits: run `celery -A APP worker` in the "
             "foreground instead, one service per worker";
    }
  }
  for (const std::string& t : tokens) {
    if (celery && (t == "--detach" || t == "-D")) {
      return "`" + t + "` makes the Celery process daemonize: drop it, superd keeps it in the foreground";
    }
    if (gunicorn && (t == "--daemon" || t == "-D")) {
      return "`" + t + "` makes gunicorn daemonize: drop it, superd keeps it in the foreground";
    }
  }
  return {};
}

}  // namespace superd::importer
