// Text `superd import` writes or checks: TOML strings and keys, variable names, binary
// input, shortened values for notes, and commands that would leave superd's supervision.
#include <algorithm>
#include <cctype>
#include <cstdio>

#include "import/import.h"

namespace superd::importer {

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
