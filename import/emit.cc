// Writing the imported configuration as super.toml: keys in SPEC order, strings quoted as
// TOML basic strings, commands as arrays of strings, durations as strings with a unit, and
// every note as a `# not imported:` comment in the table it concerns.
#include <algorithm>
#include <ostream>

#include "import/import.h"

namespace superd::importer {
namespace {

constexpr size_t kWidth = 100;

std::string comment_for(const Note& n) {
  return "# not imported: " + n.what + " (" + n.at.format() + ")" + (n.why.empty() ? "" : ": " + n.why);
}

// `key = [...]`, wrapped under the bracket when longer than kWidth.
std::string array_line(std::string_view key, const std::vector<std::string>& items) {
  std::string prefix = std::string(key) + " = [";
  std::vector<std::string> quoted;
  size_t total = prefix.size() + 1;
  for (const std::string& item : items) {
    quoted.push_back(toml_quote(item));
    total += quoted.back().size() + 2;
  }
  std::string out = prefix;
  if (total <= kWidth) {
    for (size_t i = 0; i < quoted.size(); ++i) out += (i ? ", " : "") + quoted[i];
    return out + "]";
  }
  const std::string indent(prefix.size(), ' ');
  size_t col = prefix.size();
  bool line_start = true;
  for (size_t i = 0; i < quoted.size(); ++i) {
    std::string piece = quoted[i] + (i + 1 < quoted.size() ? "," : "]");
    if (!line_start && col + 1 + piece.size() > kWidth) {
      out += "\n" + indent;
      col = indent.size();
      line_start = true;
    }
    if (!line_start) {
      out += ' ';
      ++col;
    }
    out += piece;
    col += piece.size();
    line_start = false;
  }
  return out;
}

std::string inline_table(const std::vector<std::pair<std::string, std::string>>& entries) {
  std::string out = "{ ";
  for (size_t i = 0; i < entries.size(); ++i) {
    out += (i ? ", " : "") + toml_key(entries[i].first) + " = " + entries[i].second;
  }
  return out + " }";
}

class Writer {
 public:
  explicit Writer(std::ostream& out) : out_(out) {}

  void line(std::string_view text) { out_ << text << '\n'; }

  void key(std::string_view k, const std::string& value, const std::string& comment = {}) {
    out_ << k << " = " << value;
    if (!comment.empty()) out_ << "  # " << comment;
    out_ << '\n';
  }
  void str(std::string_view k, const Opt<std::string>& v) {
    if (v) key(k, toml_quote(v->value), v->comment);
  }
  void integer(std::string_view k, const Opt<int64_t>& v) {
    if (v) key(k, std::to_string(v->value), v->comment);
  }
  void boolean(std::string_view k, const Opt<bool>& v) {
    if (v) key(k, v->value ? "true" : "false", v->comment);
  }
  void array(std::string_view k, const std::vector<std::string>& items) {
    if (!items.empty()) line(array_line(k, items));
  }

 private:
  std::ostream& out_;
};

void write_service(Writer& w, const ImportedService& s, const std::vector<Note>& notes) {
  w.line("");
  w.line("[service." + toml_key(s.name) + "]");
  for (const std::string& c : s.comments) w.line("# " + shorten(c));
  w.array("command", s.command);
  w.str("directory", s.directory);
  w.str("user", s.user);
  w.str("group", s.group);
  if (!s.environment.empty()) {
    std::vector<std::pair<std::string, std::string>> env;
    for (const auto& [k, v] : s.environment) env.emplace_back(k, toml_quote(v));
    w.key("environment", inline_table(env));
  }
  w.str("env_file", s.env_file);
  w.str("umask", s.umask);
  if (!s.limits.empty()) {
    std::vector<std::pair<std::string, std::string>> limits;
    for (const auto& [k, v] : s.limits) limits.emplace_back(k, v == "infinity" ? toml_quote(v) : v);
    w.key("limits", inline_table(limits));
  }
  w.boolean("enabled", s.enabled);
  w.str("restart", s.restart);
  w.str("start_seconds", s.start_seconds);
  w.integer("start_retries", s.start_retries);
  if (s.backoff_initial || s.backoff_max) {
    std::vector<std::pair<std::string, std::string>> backoff;
    if (s.backoff_initial) backoff.emplace_back("initial", toml_quote(s.backoff_initial->value));
    if (s.backoff_max) backoff.emplace_back("max", toml_quote(s.backoff_max->value));
    w.key("backoff", inline_table(backoff));
  }
  w.str("stop_signal", s.stop_signal);
  w.str("stop_mode", s.stop_mode);
  w.str("stop_timeout", s.stop_timeout);
  w.str("reload_signal", s.reload_signal);
  w.str("ready", s.ready);
  w.array("listen", s.listen);
  w.array("after", s.after);
  w.str("stdout", s.stdout_path);
  w.str("stderr", s.stderr_path);
  w.str("log_max_bytes", s.log_max_bytes);
  w.integer("log_backups", s.log_backups);
  w.integer("instances", s.instances);
  for (const Note& n : notes) {
    if (n.owner == s.name) w.line(comment_for(n));
  }
  if (!s.sandbox.empty()) {
    w.line("");
    w.line("[service." + toml_key(s.name) + ".sandbox]");
    for (const auto& [k, v] : s.sandbox) w.key(k, v);
  }
}

}  // namespace

void emit_toml(const Import& im, std::ostream& out) {
  Writer w(out);
  const std::vector<Note> notes = sorted_notes(im);
  w.line("# super.toml written by `superd import` from:");
  for (const std::string& source : im.sources) w.line("#   " + source);
  if (!notes.empty()) {
    w.line("# Each \"not imported\" comment is something superd does differently or not at all:");
    w.line("# review them before `superd --check -c FILE`.");
  }
  bool header_notes = false;
  for (const Note& n : notes) {
    if (!n.owner.empty()) continue;
    if (!header_notes) w.line("");
    header_notes = true;
    w.line(comment_for(n));
  }
  bool supervisor_notes = std::any_of(notes.begin(), notes.end(), [](const Note& n) { return n.owner == kSupervisorOwner; });
  if (!im.supervisor.empty() || supervisor_notes) {
    w.line("");
    w.line("[supervisor]");
    w.str("socket_group", im.supervisor.socket_group);
    w.str("log_dir", im.supervisor.log_dir);
    w.str("log_level", im.supervisor.log_level);
    for (const Note& n : notes) {
      if (n.owner == kSupervisorOwner) w.line(comment_for(n));
    }
  }
  for (const ImportedService& s : im.services) write_service(w, s, notes);
}

}  // namespace superd::importer
