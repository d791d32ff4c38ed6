#include "import/ini_file.h"

#include <sys/utsname.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>

namespace superd::importer {

namespace {

// The value part of a configparser line: comments cut, blanks trimmed. `comment` says
// whether the whole line was one.
std::string_view strip_comment(const std::string& raw, bool* comment) {
  std::string_view lead = trim(raw);
  *comment = !lead.empty() && (lead[0] == ';' || lead[0] == '#');
  size_t cut = *comment ? 0 : raw.size();
  for (size_t i = 1; i < raw.size() && !*comment; ++i) {
    if ((raw[i] == ';' || raw[i] == '#') && std::isspace(static_cast<unsigned char>(raw[i - 1]))) {
      cut = i;
      break;
    }
  }
  return trim(std::string_view(raw).substr(0, cut));
}

class IniReader {
 public:
  IniReader(const SourceFile& f, Import& im) : f_(f), im_(im) {}

  std::vector<IniSection> read() {
    std::string_view text = f_.text;
    if (text.substr(0, 3) == "\xef\xbb\xbf") text.remove_prefix(3);
    size_t pos = 0;
    while (pos < text.size()) {
      size_t nl = text.find('\n', pos);
      std::string raw(text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos));
      pos = nl == std::string_view::npos ? text.size() : nl + 1;
      ++line_;
      if (!raw.empty() && raw.back() == '\r') raw.pop_back();
      take(raw);
    }
    // configparser drops the empty lines a value ends with.
    for (IniSection& s : sections_) {
      for (IniEntry& e : s.entries) {
        while (!e.value.empty() && e.value.back() == '\n') e.value.pop_back();
      }
    }
    return std::move(sections_);
  }

 private:
  void take(const std::string& raw) {
    bool comment = false;
    std::string_view value = strip_comment(raw, &comment);
    if (value.empty()) {
      if (!comment && option_) option_->value += '\n';  // an empty line inside a value
      return;
    }
    size_t indent = raw.find_first_not_of(" \t");
    if (option_ && indent > option_indent_) {
      option_->value += '\n';
      option_->value += value;
      return;
    }
    option_ = nullptr;
    if (value[0] == '[' && value.find(']') != std::string_view::npos) return section(value);
    option(value, indent);
  }

  void section(std::string_view value) {
    std::string name(value.substr(1, value.rfind(']') - 1));
    auto it = std::find_if(sections_.begin(), sections_.end(),
                           [&](const IniSection& s) { return s.name == name; });
    if (it == sections_.end()) {
      sections_.push_back({name, line_, {}});
      current_ = sections_.size() - 1;
    } else {
      current_ = static_cast<size_t>(it - sections_.begin());  // a repeated section merges
    }
  }

  void option(std::string_view value, size_t indent) {
    if (sections_.empty()) {
      im_.error({f_.path, line_}, "option outside of any section (a supervisord file starts with a [section])");
      return;
    }
    size_t sep = value.find_first_of("=:");
    if (sep == std::string_view::npos) {
      im_.error({f_.path, line_}, "expected key=value, found '" + std::string(value) + "'");
      return;
    }
    std::string key(trim(value.substr(0, sep)));
    if (key.empty()) {
      im_.error({f_.path, line_}, "missing key before '" + std::string(1, value[sep]) + "'");
      return;
    }
    for (char& c : key) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    sections_[current_].entries.push_back({key, std::string(trim(value.substr(sep + 1))), line_});
    option_ = &sections_[current_].entries.back();
    option_indent_ = indent;
  }

  const SourceFile& f_;
  Import& im_;
  std::vector<IniSection> sections_;
  size_t current_ = 0;          // the section options go to
  IniEntry* option_ = nullptr;  // the option a deeper-indented line continues
  size_t option_indent_ = 0;
  int line_ = 0;
};

}  // namespace

std::vector<IniSection> read_ini(const SourceFile& f, Import& im) { return IniReader(f, im).read(); }

std::string what(const IniEntry& e) { return e.key + "=" + shorten(e.value); }

std::optional<bool> parse_bool(std::string_view v) {
  std::string s(trim(v));
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (s == "true" || s == "yes" || s == "on" || s == "1") return true;
  if (s == "false" || s == "no" || s == "off" || s == "0") return false;
  return std::nullopt;
}

std::optional<int64_t> parse_int(std::string_view v) {
  std::string s(trim(v));
  if (s.empty() || s.size() > 12) return std::nullopt;
  size_t start = s[0] == '-' ? 1 : 0;
  if (start == s.size() || s.find_first_not_of("0123456789", start) != std::string::npos) return std::nullopt;
  return std::stoll(s);
}

// supervisord's byte_size ("50MB" is 50 * 1024 * 1024) in superd's notation.
std::optional<std::string> parse_byte_size(std::string_view v) {
  std::string s(trim(v));
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  std::string unit;
  for (std::string_view suffix : {"KB", "MB", "GB"}) {
    if (s.size() > 2 && s.substr(s.size() - 2) == suffix) {
      unit = std::string(1, suffix[0]) + "iB";
      s.resize(s.size() - 2);
    }
  }
  if (s.empty() || s.find_first_not_of("0123456789") != std::string::npos || s.size() > 15) return std::nullopt;
  return std::to_string(std::stoull(s)) + unit;
}

// Python %-formatting with named values, as supervisord's expand(): "%(ENV_HOME)s",
// "%(process_num)02d", "%%". A missing ENV_ variable is kept as written and reported; any
// other unknown name or a lone '%' is an error, as in supervisord.
namespace {

struct Expanded {
  std::optional<std::string> text;
  std::optional<int64_t> number;
};

// The value of %(name) in the section's context; nullopt when supervisord has no such
// name. An ENV_ variable that is not set gives a value with neither text nor number.
std::optional<Expanded> lookup(const std::string& name, const Expansions& x) {
  Expanded v;
  if (name.rfind("ENV_", 0) == 0) {
    if (const char* env = std::getenv(name.c_str() + 4)) v.text = env;
  } else if (name == "here") {
    v.text = x.here;
  } else if (x.program && (name == "program_name" || name == "group_name")) {
    v.text = x.program_name;
  } else if (x.program && name == "process_num") {
    v.number = x.process_num;
  } else if (x.program && name == "numprocs") {
    v.number = x.numprocs;
  } else if (x.program && name == "host_node_name") {
    struct utsname u {};
    uname(&u);
    v.text = u.nodename;
  } else {
    return std::nullopt;
  }
  return v;
}

// %(name) formatted by conversion `conv` with printf's width and '0' / '-' flags;
// nullopt with *why when it cannot be.
std::optional<std::string> format_piece(const std::string& name, const Expanded& v,
                                        const std::string& flags, char conv, std::string* why) {
  std::string piece;
  if (conv == 's' || conv == 'r') {
    piece = v.text ? *v.text : std::to_string(*v.number);
  } else if (v.number) {
    piece = std::to_string(*v.number);
  } else {
    *why = "%(" + name + ")" + conv + " needs a number";
    return std::nullopt;
  }
  size_t digits = flags.find_first_of("123456789");
  std::string width_text =
      digits == std::string::npos ? "" : flags.substr(digits, flags.find('.', digits) - digits);
  if (width_text.size() > 3) {
    *why = "the width of %(" + name + ") is too large";
    return std::nullopt;
  }
  size_t width = width_text.empty() ? 0 : std::stoul(width_text);
  if (piece.size() < width) {
    size_t pad = width - piece.size();
    if (flags.find('-') != std::string::npos) piece += std::string(pad, ' ');
    else if (flags.find('0') == 0 && conv != 's') piece = std::string(pad, '0') + piece;
    else piece = std::string(pad, ' ') + piece;
  }
  return piece;
}

}  // namespace

std::string expand(const IniEntry& e, const Expansions& x, const std::string& file,
                   const std::string& owner, Import& im) {
  const std::string& v = e.value;
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) {
    if (v[i] != '%') {
      out += v[i];
      continue;
    }
    if (i + 1 < v.size() && v[i + 1] == '%') {
      out += '%';
      ++i;
      continue;
    }
    size_t close = i + 1 < v.size() && v[i + 1] == '(' ? v.find(')', i + 2) : std::string::npos;
    if (close == std::string::npos) {
      im.error({file, e.line}, e.key + "=: a lone '%' (write '%%' for a percent sign)");
      return v;
    }
    std::string name = v.substr(i + 2, close - i - 2);
    size_t spec_end = v.find_first_not_of("#0- +123456789.", close + 1);
    if (spec_end == std::string::npos || std::string_view("sdir").find(v[spec_end]) == std::string_view::npos) {
      im.error({file, e.line}, e.key + "=: unsupported format after %(" + name + ")");
      return v;
    }
    const char conv = v[spec_end];
    auto value = lookup(name, x);
    if (!value) {
      im.error({file, e.line}, e.key + "=: %(" + name + ") cannot be expanded (supervisord refuses it too)");
      return v;
    }
    if (!value->text && !value->number) {  // an ENV_ variable that is not set
      im.note({file, e.line}, owner, "%(" + name + ")" + conv + " in " + e.key + "=",
              name.substr(4) + " is not set in the environment of `superd import`; left as written");
      out += v.substr(i, spec_end - i + 1);
      i = spec_end;
      continue;
    }
    if (x.process_num_is_instance && name == "process_num") {
      out += "{instance}";
      i = spec_end;
      continue;
    }
    std::string why;
    auto piece = format_piece(name, *value, v.substr(close + 1, spec_end - close - 1), conv, &why);
    if (!piece) {
      im.error({file, e.line}, e.key + "=: " + why);
      return v;
    }
    out += *piece;
    i = spec_end;
  }
  return out;
}

// supervisord's environment= syntax: KEY="val",KEY2=val2 (quotes allow commas).
std::optional<std::vector<std::pair<std::string, std::string>>> parse_environment(std::string_view text,
                                                                                  std::string* error) {
  std::vector<std::pair<std::string, std::string>> vars;
  size_t i = 0;
  auto skip_space = [&] {
    while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
  };
  while (true) {
    skip_space();
    if (i >= text.size()) break;
    size_t eq = text.find('=', i);
    size_t comma = text.find(',', i);
    if (eq == std::string_view::npos || (comma != std::string_view::npos && comma < eq)) {
      *error = "expected KEY=value at '" + std::string(text.substr(i, comma == text.npos ? text.npos : comma - i)) + "'";
      return std::nullopt;
    }
    std::string key(trim(text.substr(i, eq - i)));
    i = eq + 1;
    skip_space();
    std::string value;
    if (i < text.size() && (text[i] == '"' || text[i] == '\'')) {
      size_t close = text.find(text[i], i + 1);
      if (close == std::string_view::npos) {
        *error = std::string("no closing quotation (") + text[i] + ") in the value of " + key;
        return std::nullopt;
      }
      value = std::string(text.substr(i + 1, close - i - 1));
      i = close + 1;
      skip_space();
      if (i < text.size() && text[i] != ',') {
        *error = "expected ',' after the quoted value of " + key;
        return std::nullopt;
      }
    } else {
      size_t end = text.find(',', i);
      value = std::string(trim(text.substr(i, end == std::string_view::npos ? std::string_view::npos : end - i)));
      i = end == std::string_view::npos ? text.size() : end;
    }
    if (i < text.size()) ++i;  // the comma
    auto it = std::find_if(vars.begin(), vars.end(), [&](const auto& p) { return p.first == key; });
    if (it != vars.end()) it->second = value;
    else vars.emplace_back(key, value);
  }
  return vars;
}

}  // namespace superd::importer
