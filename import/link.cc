// What an import needs every file for: dependencies between imported units, a service's
// .socket unit, supervisord's priorities, duplicate names; and the order notes are shown in.
#include <algorithm>
#include <map>
#include <set>

#include "import/import.h"

namespace superd::importer {

std::string Origin::format() const { return line > 0 ? file + ":" + std::to_string(line) : file; }

std::string Note::format() const {
  return at.format() + ": not imported: " + what + (why.empty() ? "" : ": " + why);
}

std::string InputError::format() const { return at.format() + ": error: " + message; }

void Import::note(Origin at, std::string owner, std::string what, std::string why) {
  notes.push_back({std::move(at), std::move(owner), std::move(what), std::move(why)});
}

void Import::error(Origin at, std::string message) { errors.push_back({std::move(at), std::move(message)}); }

namespace {

// systemd's synchronization points: superd.service is itself ordered after them.
bool is_system_target(std::string_view unit) {
  static constexpr std::string_view kTargets[] = {
      "network.target",   "network-online.target", "network-pre.target", "nss-lookup.target",
      "nss-user-lookup.target", "remote-fs.target", "local-fs.target",  "time-sync.target",
      "time-set.target",  "syslog.target",         "basic.target",       "sysinit.target",
      "multi-user.target", "default.target",       "graphical.target",   "sockets.target",
      "paths.target",     "timers.target",         "syslog.socket",      "systemd-journald.socket"};
  return std::find(std::begin(kTargets), std::end(kTargets), unit) != std::end(kTargets);
}

void add_after(ImportedService& s, const std::string& name) {
  if (s.name != name && std::find(s.after.begin(), s.after.end(), name) == s.after.end()) s.after.push_back(name);
}

void link_sockets(Import& im) {
  for (const SocketUnit& sock : im.sockets) {
    auto it = std::find_if(im.services.begin(), im.services.end(), [&](const ImportedService& s) {
      return s.kind == SourceKind::systemd && s.unit == sock.service;
    });
    if (it == im.services.end()) {
      im.note(sock.at, "", "[Socket] of " + sock.unit,
              "no " + sock.service + " among the imported units: import both to give it `listen`");
      continue;
    }
    for (const std::string& l : sock.listen) {
      if (std::find(it->listen.begin(), it->listen.end(), l) == it->listen.end()) it->listen.push_back(l);
    }
    for (const std::string& c : sock.comments) it->comments.push_back(c);
    for (Note& n : im.notes) {
      if (n.owner.empty() && n.at.file == sock.at.file) n.owner = it->name;
    }
  }
}

void link_units(Import& im) {
  std::map<std::string, size_t> by_unit;
  for (size_t i = 0; i < im.services.size(); ++i) {
    if (im.services[i].kind == SourceKind::systemd) by_unit[im.services[i].unit] = i;
  }
  for (size_t i = 0; i < im.services.size(); ++i) {
    for (const UnitRef& ref : im.services[i].refs) {
      ImportedService& self = im.services[i];
      if (auto it = by_unit.find(ref.unit); it != by_unit.end()) {
        if (ref.key == "Before") add_after(im.services[it->second], self.name);
        else add_after(self, im.services[it->second].name);
        continue;
      }
      bool own_socket = std::any_of(im.sockets.begin(), im.sockets.end(), [&](const SocketUnit& s) {
        return s.unit == ref.unit && s.service == self.unit;
      });
      if (own_socket || is_system_target(ref.unit)) continue;
      im.note(ref.at, self.name, ref.key + "=" + ref.unit,
              "not among the imported units; superd orders only its own services, so order superd.service "
              "after it (or import it too)");
    }
  }
}

// supervisord starts programs in ascending priority; each one is ordered after the
// programs of the next lower priority level present.
void link_priorities(Import& im) {
  std::map<int, std::vector<size_t>> levels;
  for (size_t i = 0; i < im.services.size(); ++i) {
    if (im.services[i].kind == SourceKind::supervisord) levels[im.services[i].priority.value_or(999)].push_back(i);
  }
  const std::vector<size_t>* previous = nullptr;
  for (auto& [priority, members] : levels) {
    if (previous) {
      for (size_t i : members) {
        for (size_t p : *previous) add_after(im.services[i], im.services[p].name);
      }
    }
    previous = &members;
  }
}

size_t source_index(const Import& im, const std::string& file) {
  auto it = std::find(im.sources.begin(), im.sources.end(), file);
  return static_cast<size_t>(it - im.sources.begin());
}

}  // namespace

void link(Import& im) {
  std::map<std::string, const ImportedService*> names;
  for (const ImportedService& s : im.services) {
    auto [it, fresh] = names.emplace(s.name, &s);
    if (!fresh) {
      im.error(s.at, "a service named '" + s.name + "' was already imported from " + it->second->at.format());
    }
  }
  link_sockets(im);
  link_units(im);
  link_priorities(im);
}

std::vector<Note> sorted_notes(const Import& im) {
  std::vector<Note> notes = im.notes;
  std::stable_sort(notes.begin(), notes.end(), [&](const Note& a, const Note& b) {
    return std::pair(source_index(im, a.at.file), a.at.line) < std::pair(source_index(im, b.at.file), b.at.line);
  });
  return notes;
}

std::vector<InputError> sorted_errors(const Import& im) {
  std::vector<InputError> errors = im.errors;
  std::stable_sort(errors.begin(), errors.end(), [&](const InputError& a, const InputError& b) {
    return std::pair(source_index(im, a.at.file), a.at.line) < std::pair(source_index(im, b.at.file), b.at.line);
  });
  return errors;
}

}  // namespace superd::importer
