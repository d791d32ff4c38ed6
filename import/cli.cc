// `superd import [--from systemd|supervisord] FILE...`: the command line, reading the
// files (and supervisord's [include]s), telling systemd from supervisord, and the exit status.
#include <glob.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "import/import.h"
#include "import/ini_file.h"

namespace superd {
namespace {

using importer::Import;
using importer::Origin;
using importer::SourceFile;
using importer::SourceKind;

constexpr std::string_view kUsage = "usage: superd import [--from systemd|supervisord] [--instances N] FILE...\n";

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// By extension, else by the first section header that only one of them has.
std::optional<SourceKind> detect(const std::string& path, std::string_view text) {
  if (ends_with(path, ".service") || ends_with(path, ".socket")) return SourceKind::systemd;
  if (ends_with(path, ".conf") || ends_with(path, ".ini")) return SourceKind::supervisord;
  std::istringstream in{std::string(text)};
  for (std::string line; std::getline(in, line);) {
    std::string_view l = trim(line);
    if (l == "[Service]" || l == "[Socket]" || l == "[Unit]" || l == "[Install]") return SourceKind::systemd;
    if (l.rfind("[program:", 0) == 0 || l.rfind("[group:", 0) == 0 || l == "[supervisord]" ||
        l == "[unix_http_server]" || l == "[include]") {
      return SourceKind::supervisord;
    }
  }
  return std::nullopt;
}

class Reader {
 public:
  explicit Reader(Import& im) : im_(im) {}

  void read(const std::string& path, std::optional<SourceKind> kind) {
    std::error_code ec;
    std::string key = std::filesystem::weakly_canonical(path, ec).string();
    if (ec) key = path;
    if (!seen_.insert(key).second) return;  // named twice, or included again
    im_.sources.push_back(path);
    if (std::filesystem::is_directory(path, ec)) {
      im_.error({path, 0}, "is a directory, not a unit or supervisord file");
      return;
    }
    std::ifstream in(path, std::ios::binary);
    if (!in) {
      im_.error({path, 0}, std::string("cannot read: ") + std::strerror(errno));
      return;
    }
    std::ostringstream text;
    text << in.rdbuf();
    SourceFile f{path, text.str(), SourceKind::systemd};
    if (int line = importer::first_binary_line(f.text)) {
      im_.error({path, line}, "binary data: not a systemd unit or supervisord file");
      return;
    }
    auto k = kind ? kind : detect(path, f.text);
    if (!k) {
      im_.error({path, 0}, "cannot tell a systemd unit from a supervisord file (no [Service], [Socket] or "
                           "[program:NAME] section): name it .service, .socket or .conf, or use --from");
      return;
    }
    f.kind = *k;
    if (f.kind == SourceKind::systemd) {
      importer::import_systemd(f, im_);
      return;
    }
    for (const importer::Include& inc : importer::import_supervisord(f, im_)) include(inc);
  }

 private:
  // supervisord's [include] files=: globs, each match read as supervisord in sorted order.
  void include(const importer::Include& inc) {
    glob_t g{};
    int rc = glob(inc.pattern.c_str(), 0, nullptr, &g);
    std::vector<std::string> matches;
    if (rc == 0) {
      for (size_t i = 0; i < g.gl_pathc; ++i) matches.emplace_back(g.gl_pathv[i]);
    }
    globfree(&g);
    if (matches.empty()) {
      im_.note(inc.at, "", "files=" + inc.pattern, "matches no file");
      return;
    }
    for (const std::string& m : matches) read(m, SourceKind::supervisord);
  }

  Import& im_;
  std::set<std::string> seen_;
};

}  // namespace

int run_import(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  std::optional<SourceKind> from;
  std::vector<std::string> files;
  int64_t instances = 0;
  bool options = true;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (options && a == "--") {
      options = false;
    } else if (options && (a == "-h" || a == "--help")) {
      out << kUsage;
      return 0;
    } else if (options && (a == "--from" || a.rfind("--from=", 0) == 0)) {
      std::string value = a == "--from" ? (i + 1 < args.size() ? args[++i] : "") : a.substr(7);
      if (value == "systemd") {
        from = SourceKind::systemd;
      } else if (value == "supervisord") {
        from = SourceKind::supervisord;
      } else {
        err << "superd import: --from takes systemd or supervisord, not '" << value << "'\n" << kUsage;
        return 1;
      }
    } else if (options && (a == "--instances" || a.rfind("--instances=", 0) == 0)) {
      std::string value = a == "--instances" ? (i + 1 < args.size() ? args[++i] : "") : a.substr(12);
      auto n = importer::parse_int(value);
      if (!n || *n < 1 || *n > 1000) {
        err << "superd import: --instances takes a number from 1 to 1000, not '" << value << "'\n" << kUsage;
        return 1;
      }
      instances = *n;
    } else if (options && a.size() > 1 && a[0] == '-') {
      err << "superd import: unknown option '" << a << "'\n" << kUsage;
      return 1;
    } else {
      files.push_back(a);
    }
  }
  if (files.empty()) {
    err << "superd import: no file to import\n" << kUsage;
    return 1;
  }

  Import im;
  im.template_instances = instances;
  Reader reader(im);
  for (const std::string& f : files) reader.read(f, from);
  if (im.errors.empty()) importer::link(im);
  if (!im.errors.empty()) {
    for (const importer::InputError& e : importer::sorted_errors(im)) err << e.format() << '\n';
    return 1;
  }
  importer::emit_toml(im, out);
  const auto notes = importer::sorted_notes(im);
  for (const importer::Note& n : notes) err << n.format() << '\n';
  return notes.empty() ? 0 : 2;
}

}  // namespace superd
