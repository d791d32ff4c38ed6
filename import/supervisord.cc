// supervisord configuration files, read the way supervisord reads them (Python's
// RawConfigParser with ';' and '#' inline comments, `%(name)s` expansion, shlex for
// command=) and translated into superd services (see import.h for the decisions).
//
// Reading follows configparser: a line is a comment when its first non-blank character is
// ';' or '#', and an inline comment starts at a ';' or '#' after whitespace; a section header
// is "[name]"; an option is "key = value" or "key: value" with the key lowercased; a line
// indented deeper than its option continues the value (joined with a newline). Duplicate
// sections and keys merge, the last value winning, as supervisord's non-strict parser does.
#include <algorithm>
#include <filesystem>

#include "import/ini_file.h"
namespace superd::importer {
namespace {

// ---- The supervisor's own sections ---------------------------------------------------------

void supervisord_section(const SourceFile& f, const IniSection& sec, const Expansions& x, Import& im) {
  const std::string owner(kSupervisorOwner);
  auto& sup = im.supervisor;
  for (const IniEntry& e : sec.entries) {
    if (sec.get(e.key) != &e) continue;
    Origin at{f.path, e.line};
    if (e.key == "childlogdir") {
      sup.log_dir = {expand(e, x, f.path, owner, im), ""};
    } else if (e.key == "loglevel") {
      std::string v(trim(e.value));
      for (char& c : v) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      static constexpr std::string_view kLevels[] = {"critical", "error", "warn", "info", "debug", "trace"};
      if (v == "blather") v = "trace";
      if (std::find(std::begin(kLevels), std::end(kLevels), v) != std::end(kLevels)) {
        sup.log_level = {v, ""};
      } else {
        im.note(at, owner, what(e), "unknown level");
      }
    } else if (e.key == "user") {
      im.note(at, owner, what(e), "superd runs as root and drops each service to its own user");
    } else if (e.key == "nodaemon") {
      im.note(at, owner, what(e), "superd always runs in the foreground, under systemd");
    } else if (e.key == "logfile" || e.key == "logfile_maxbytes" || e.key == "logfile_backups") {
      im.note(at, owner, what(e), "superd logs to its standard error, the journal under systemd");
    } else if (e.key == "pidfile") {
      im.note(at, owner, what(e), "superd runs under systemd, which knows its pid");
    } else if (e.key == "minfds" || e.key == "minprocs") {
      im.note(at, owner, what(e), "set limits per service (limits.nofile, limits.nproc)");
    } else if (e.key == "environment") {
      im.note(at, owner, what(e), "superd services do not inherit superd's environment: set it per service");
    } else {
      im.note(at, owner, what(e));
    }
  }
}

void unix_http_server_section(const SourceFile& f, const IniSection& sec, Import& im) {
  const std::string owner(kSupervisorOwner);
  for (const IniEntry& e : sec.entries) {
    if (sec.get(e.key) != &e) continue;
    Origin at{f.path, e.line};
    if (e.key == "file") {
      // Not translated: at superd's default path superctl finds the socket without -s, and
      // no supervisorctl client could talk to superd there anyway.
      im.note(at, owner, what(e), "superd keeps its socket at /run/super/super.sock, where superctl looks for it");
    } else if (e.key == "chmod") {
      im.note(at, owner, what(e), "superd creates its socket 0660, owned by root and socket_group");
    } else if (e.key == "chown") {
      std::string v(trim(e.value));
      size_t colon = v.find(':');
      std::string user = v.substr(0, colon);
      if (colon != std::string::npos && colon + 1 < v.size()) im.supervisor.socket_group = {v.substr(colon + 1), ""};
      if (user != "root" || colon == std::string::npos) {
        im.note(at, owner, what(e), "the socket is owned by root; members of socket_group may use it");
      }
    } else if (e.key == "username" || e.key == "password") {
      im.note(at, owner, e.key + "=...", "superd authorizes by the client's credentials: root and socket_group");
    } else {
      im.note(at, owner, what(e));
    }
  }
}

bool known_section(const std::string& n) {
  return n.rfind("program:", 0) == 0 || n.rfind("group:", 0) == 0 || n == "supervisord" ||
         n == "unix_http_server" || n == "inet_http_server" || n == "supervisorctl" ||
         n.rfind("rpcinterface:", 0) == 0 || n.rfind("eventlistener:", 0) == 0 ||
         n.rfind("fcgi-program:", 0) == 0 || n == "include";
}

std::string group_reason(const IniSection& sec) {
  const IniEntry* programs = sec.get("programs");
  std::string list = programs ? programs->value : "";
  std::replace(list.begin(), list.end(), ',', ' ');
  std::string names;
  for (char c : list) names += (c == '\n') ? ' ' : c;
  return "superd has no process groups: its programs are separate services; `superctl restart " +
         std::string(trim(names)) + "` acts on them together";
}

// [include] files=: globs relative to the including file, shown as a path from where its
// own was given.
void include_section(const SourceFile& f, const IniSection& sec, const Expansions& x,
                     std::vector<Include>& includes, Import& im) {
  for (const IniEntry& e : sec.entries) {
    if (e.key != "files") {
      im.note({f.path, e.line}, "", what(e));
      continue;
    }
    std::string err;
    std::string files = expand(e, x, f.path, "", im);
    for (const std::string& pattern : split_shell_words(files, &err).value_or(std::vector<std::string>{})) {
      std::string dir = std::filesystem::path(f.path).parent_path().string();
      std::string path = pattern[0] == '/' || dir.empty() ? pattern : dir + "/" + pattern;
      includes.push_back({path, {f.path, e.line}});
    }
  }
}

}  // namespace

std::vector<Include> import_supervisord(const SourceFile& f, Import& im) {
  std::vector<Include> includes;
  size_t errors = im.errors.size();
  std::vector<IniSection> sections = read_ini(f, im);
  // After a syntax error only the section names are still checked, so that every error
  // of the file shows at once without errors that follow from the first.
  const bool translate = im.errors.size() == errors;

  Expansions x;
  x.here = std::filesystem::absolute(f.path).parent_path().lexically_normal().string();
  if (x.here.size() > 1 && x.here.back() == '/') x.here.pop_back();
  for (const IniSection& sec : sections) {
    const std::string& n = sec.name;
    Origin at{f.path, sec.line};
    auto whole_section = [&](std::string owner, std::string why) {
      im.note(at, std::move(owner), "[" + n + "]", std::move(why));
    };
    if (!known_section(n)) {
      im.error(at, "unknown section [" + n + "] (expected [program:NAME], [group:NAME], [supervisord], "
                   "[unix_http_server], [supervisorctl], [include], ...)");
      continue;
    }
    if (!translate) continue;
    if (n.rfind("program:", 0) == 0) {
      import_program(f, sec, x.here, im);
    } else if (n.rfind("group:", 0) == 0) {
      whole_section("", group_reason(sec));
    } else if (n == "supervisord") {
      supervisord_section(f, sec, x, im);
    } else if (n == "unix_http_server") {
      unix_http_server_section(f, sec, im);
    } else if (n == "inet_http_server") {
      whole_section(std::string(kSupervisorOwner), "superd is controlled through its Unix socket only");
    } else if (n == "supervisorctl") {
      whole_section(std::string(kSupervisorOwner), "superctl needs no configuration: `superctl -s SOCKET`");
    } else if (n.rfind("rpcinterface:", 0) == 0) {
      whole_section(std::string(kSupervisorOwner), "superd's control protocol is built in");
    } else if (n.rfind("eventlistener:", 0) == 0) {
      whole_section("", "superd has no event listeners");
    } else if (n.rfind("fcgi-program:", 0) == 0) {
      whole_section("", "superd does not spawn FastCGI programs; a `listen` socket is passed to one process");
    } else if (n == "include") {
      include_section(f, sec, x, includes, im);
    }
  }
  if (im.errors.size() == errors && sections.empty()) {
    im.error({f.path, 0}, "not a supervisord configuration: no [program:NAME] or [supervisord] section");
  }
  return includes;
}

}  // namespace superd::importer
