// systemd .service and .socket units, read the way systemd's config parser reads them and
// translated into superd services (see import.h for the decisions).
//
// Reading follows src/shared/conf-parser.c: a line ending in an unescaped backslash
// continues on the next one (the backslash becomes a space, the next line is appended as
// is), comment lines (#, ;) are skipped even inside a continuation, keys and values are
// trimmed, and an empty assignment ("Environment=") resets the list built so far. Where
// systemd only warns and goes on (an assignment outside a section, a line without '=', an
// unknown section), the importer refuses the file: an import that silently loses a line is
// worse than one that asks for the file to be fixed.
#include <filesystem>

#include "import/systemd_service.h"
#include "import/unit_file.h"

namespace superd::importer {
namespace {

constexpr std::string_view kOwnership =
    "superd makes a Unix listen socket the service user's and primary group's, mode 0660";

// ---- One socket unit -----------------------------------------------------------------------

// ListenStream= values as superd `listen` entries, with a note for each that is not
// reproduced as written.
void listen_streams(const SourceFile& f, Assignments& a, SocketUnit& sock, Import& im) {
  auto note = [&](const Entry& e, std::string w, std::string why) {
    im.note({f.path, e.line}, "", std::move(w), std::move(why));
  };
  // systemd's any-address socket ("8000", "[::]:8000") takes IPv4 too unless
  // BindIPv6Only=ipv6-only; superd's IPv6 sockets are IPv6-only, so it takes two.
  bool v6only = false;
  if (const Entry* e = a.last("Socket", "BindIPv6Only")) v6only = e->value == "ipv6-only";
  for (const Entry* e : a.all("Socket", "ListenStream")) {
    const std::string& v = e->value;
    bool port_only = !v.empty() && v.find_first_not_of("0123456789") == std::string::npos;
    if (!v.empty() && v[0] == '/') {
      sock.listen.push_back("unix:" + v);
      note(*e, "the owner and mode of " + v,
           std::string(kOwnership) + " (systemd's default: root, 0666): a client such as nginx must be in that group");
    } else if (port_only || v.rfind("[::]:", 0) == 0) {
      std::string port = port_only ? v : v.substr(5);
      if (!v6only) sock.listen.push_back("tcp:0.0.0.0:" + port);
      sock.listen.push_back("tcp:[::]:" + port);
      if (!v6only) {
        note(*e, what(*e),
             "superd's IPv6 sockets are IPv6-only: imported as tcp:0.0.0.0:" + port + " and tcp:[::]:" + port +
                 ", two sockets (file descriptors) for the service");
      }
    } else if (!v.empty() && v[0] != '@' && v.rfind("vsock:", 0) != 0 && v.find(':') != std::string::npos) {
      sock.listen.push_back("tcp:" + v);
    } else {
      note(*e, what(*e), "superd listens on TCP addresses and Unix socket paths only");
    }
  }
}

void import_socket(const SourceFile& f, const UnitText& unit, const std::string& unit_name, Import& im) {
  Assignments a(unit);
  SocketUnit sock;
  sock.unit = unit_name;
  sock.service = unit_name.substr(0, unit_name.size() - std::string_view(".socket").size()) + ".service";
  sock.at = {f.path, 0};
  for (const Section& s : unit.sections) {
    if (s.name == "Socket") {
      sock.at.line = s.line;
      break;
    }
  }
  auto note = [&](const Entry& e, std::string w, std::string why) {
    im.note({f.path, e.line}, "", std::move(w), std::move(why));
  };
  for (const char* key : {"Description", "Documentation"}) {
    for (const Entry* e : a.all("Unit", key)) sock.comments.push_back(std::string(key) + ": " + e->value + " (" + unit_name + ")");
  }
  if (const Entry* e = a.last("Socket", "Service")) sock.service = e->value;
  if (const Entry* e = a.last("Socket", "Accept")) {
    std::string v = e->value;
    if (v != "no" && v != "false" && v != "0" && v != "off") {
      note(*e, what(*e), "superd passes the listening socket to one long-running process, not one process per connection");
    }
  }
  listen_streams(f, a, sock, im);
  for (const char* key : {"SocketUser", "SocketGroup", "SocketMode", "DirectoryMode"}) {
    for (const Entry* e : a.all("Socket", key)) note(*e, what(*e), std::string(kOwnership));
  }
  for (const char* key : {"ListenDatagram", "ListenSequentialPacket", "ListenFIFO", "ListenSpecial",
                          "ListenNetlink", "ListenMessageQueue", "ListenUSBFunction"}) {
    for (const Entry* e : a.all("Socket", key)) note(*e, what(*e), "superd holds stream sockets only");
  }
  for (const Entry* e : a.all("Install", "WantedBy")) {
    if (e->value != "sockets.target") note(*e, what(*e), "superd opens a service's sockets when it starts the service");
  }
  for (const Entry* e : a.unhandled()) note(*e, what(*e), family_reason(e->key));
  im.sockets.push_back(std::move(sock));
}

}  // namespace

void import_systemd(const SourceFile& f, Import& im) {
  // Syntax errors and unknown sections are all reported; then nothing is translated.
  size_t errors = im.errors.size();
  UnitText unit = read_unit(f, im);

  std::string base = std::filesystem::path(f.path).filename().string();
  auto has_section = [&](std::string_view name) {
    return std::any_of(unit.sections.begin(), unit.sections.end(), [&](const Section& s) { return s.name == name; });
  };
  bool socket = has_suffix(base, ".socket") || (!has_suffix(base, ".service") && !has_section("Service") &&
                                                has_section("Socket"));
  std::string unit_name = base;
  if (!has_suffix(base, ".service") && !has_suffix(base, ".socket")) {
    unit_name = std::filesystem::path(base).stem().string() + (socket ? ".socket" : ".service");
  }
  const char* main_section = socket ? "Socket" : "Service";
  if (!has_section(main_section)) {
    im.error({f.path, 0}, std::string("not a ") + (socket ? "socket" : "service") + " unit: no [" + main_section +
                              "] section");
  }
  // Sections: the unit type's three, X- extensions (reported), nothing else.
  std::string owner = socket ? "" : unit_name.substr(0, unit_name.size() - std::string_view(".service").size());
  for (const Section& s : unit.sections) {
    if (s.name == "Unit" || s.name == main_section || s.name == "Install") continue;
    if (s.name.rfind("X-", 0) == 0) {
      im.note({f.path, s.line}, owner, "[" + s.name + "]", "an extension section, read by no one but its author");
      continue;
    }
    im.error({f.path, s.line}, "unknown section [" + s.name + "] in a " + (socket ? "socket" : "service") +
                                   " unit (expected [Unit], [" + main_section + "] or [Install])");
  }
  if (im.errors.size() != errors) return;
  std::erase_if(unit.entries, [](const Entry& e) { return e.section.rfind("X-", 0) == 0; });
  if (socket) {
    import_socket(f, unit, unit_name, im);
    return;
  }
  ServiceImport(f, unit, unit_name, im).run();
}

}  // namespace superd::importer

