// `superctl log`: the last lines of a service's output (its log files, or for console and
// journal services the tail superd keeps in memory), then, with follow, every new line
// as it is captured until the client goes. --since/--until are control_log_range.cc.
// Also `reopen-logs`.
#include <spdlog/spdlog.h>

#include <algorithm>

#include "ipc/protocol.h"
#include "supervisor/control.h"
#include "supervisor/log_tail.h"

namespace superd {

using nlohmann::json;

// The lines of both in-memory tails (stdout's, stderr's) in the order superd read them.
std::vector<std::string> Control::tail_between(const Service& service, size_t count, UnixMicros since,
                                               UnixMicros until) const {
  const Slot* slot = host_.slot(service);
  std::vector<std::pair<UnixMicros, std::string>> all;
  if (slot) {
    for (OutputPipe* pipe : {slot->out.get(), slot->err.get()}) {
      if (!pipe || !pipe->target().tail) continue;
      auto some = pipe->target().tail->lines(count, since, until);
      all.insert(all.end(), std::make_move_iterator(some.begin()), std::make_move_iterator(some.end()));
    }
  }
  std::stable_sort(all.begin(), all.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  if (all.size() > count) all.erase(all.begin(), all.end() - static_cast<std::ptrdiff_t>(count));
  std::vector<std::string> lines;
  for (auto& [t, line] : all) lines.push_back(std::move(line));
  return lines;
}

// Where a service's lines go when some are not in a file: one sentence for superctl to
// show ("" when everything is in files).
std::string Control::log_note(const Service& service) const {
  const Slot* slot = host_.slot(service);
  const auto& c = service.config();
  std::string note;
  uint64_t dropped = 0;
  bool memory_tail = false, journal = false;
  if (slot) {
    for (OutputPipe* pipe : {slot->out.get(), slot->err.get()}) {
      if (!pipe || !pipe->target().lines) continue;
      const LineTarget& t = *pipe->target().lines;
      note += (note.empty() ? c.name + " writes to " : "; and to ") + t.describe();
      dropped += t.dropped_lines();
      memory_tail = true;
      journal = journal || t.is_journal();
    }
  }
  if (note.empty()) return "";
  note += ". " + std::to_string(dropped) + " lines dropped so far.";
  if (memory_tail) {
    note += " Shown: what superd kept in memory (the last " + std::to_string(LineTail::kMaxLines) +
            " lines or " + std::to_string(LineTail::kMaxBytes >> 10) + " KiB of each stream, since it started)";
    note += journal ? "; the journal has them all: journalctl -t " + c.name + "." : ".";
  }
  return note;
}

std::vector<std::string> Control::recent_lines(const Service& service, size_t count) const {
  const auto& c = service.config();
  std::vector<std::string> lines;
  if (c.stdout_target == LogTarget::file) lines = tail_lines(c.stdout_path, count);
  if (c.stderr_own_pipe() && c.stderr_target == LogTarget::file) {
    // Two files cannot be interleaved faithfully; stderr's tail follows stdout's.
    auto more = tail_lines(c.stderr_path, count);
    lines.insert(lines.end(), more.begin(), more.end());
  }
  auto kept = tail_between(service, count, INT64_MIN, INT64_MAX);
  lines.insert(lines.end(), kept.begin(), kept.end());
  return lines;
}

void Control::cmd_log(const Conn& conn, const ipc::Request& req) {
  const json name = req.args.value("name", json());
  if (!name.is_string()) {
    conn->send(ipc::make_error(req.id, ipc::err::bad_request, "'name' (a service) is required"));
    return;
  }
  Service* service = supervisor_.find(name.get<std::string>());
  // A service with `instances`: its only instance, or the operator picks one (their
  // files are apart, and so are their lines).
  if (!service && supervisor_.find_template(name.get<std::string>())) {
    auto instances = supervisor_.instances_of(name.get<std::string>());
    if (instances.size() == 1) service = instances.front();
    if (instances.size() > 1) {
      conn->send(ipc::make_error(req.id, ipc::err::bad_request,
                                 name.get<std::string>() + " has " + std::to_string(instances.size()) +
                                     " instances, each with its own log: name one, as " + instances.front()->name()));
      return;
    }
  }
  if (!service) {
    conn->send(ipc::make_error(req.id, ipc::err::not_found, unknown_service(name.get<std::string>())));
    return;
  }
  const json lines_arg = req.args.value("lines", json(10));
  if (!lines_arg.is_number_integer() || lines_arg.get<int64_t>() < 0 ||
      lines_arg.get<int64_t>() > 100000) {
    conn->send(ipc::make_error(req.id, ipc::err::bad_request, "'lines' must be 0..100000"));
    return;
  }
  if (req.args.contains("since") || req.args.contains("until")) return cmd_log_range(conn, req, *service);
  const auto count = static_cast<size_t>(lines_arg.get<int64_t>());
  json result = {{"lines", recent_lines(*service, count)}, {"follow", req.args.value("follow", false)}};
  if (std::string note = log_note(*service); !note.empty()) result["note"] = note;
  if (!conn->send(ipc::make_ok(req.id, result))) return;
  Slot* slot = host_.slot(*service);
  if (result["follow"].get<bool>() && slot && slot->out) follow(conn, req.id, *slot);
}

// Every new line of the service, until the client goes (or stops reading and its output
// bound is exceeded, which closes it).
void Control::follow(const Conn& conn, int64_t id, Slot& slot) {
  std::weak_ptr<ipc::Connection> weak = conn;
  auto listener = [weak, id](std::string_view line, std::string_view stamp) {
    auto c = weak.lock();
    if (!c) return;
    std::string text = stamp.empty() ? std::string(line) : std::string(stamp) + " " + std::string(line);
    c->send(json{{"id", id}, {"line", std::move(text)}});
  };
  const std::string service = slot.service->name();
  std::erase_if(followers_, [](const auto& f) { return f.second.expired(); });
  followers_.emplace_back(service, conn);
  OutputPipe* err = slot.err.get();
  const int out_id = slot.out->add_listener(listener);
  const int err_id = err ? err->add_listener(listener) : 0;
  conn->on_close = [this, service, out_id, err_id] {
    Service* s = supervisor_.find(service);
    Slot* current = s ? host_.slot(*s) : nullptr;
    if (!current) return;
    // Listeners keep their ids when a restart hands them to fresh pipes.
    if (current->out) current->out->remove_listener(out_id);
    if (err_id && current->err) current->err->remove_listener(err_id);
  };
}

void Control::end_followers(const std::string& service) {
  for (auto& [name, weak] : followers_) {
    if (name != service) continue;
    if (auto conn = weak.lock()) conn->close();
  }
  std::erase_if(followers_, [&](const auto& f) { return f.first == service; });
}

void Control::cmd_reopen_logs(const Conn& conn, const ipc::Request& req) {
  spdlog::info("reopen-logs (uid {})", conn->peer().uid);
  conn->send(ipc::make_ok(req.id, {{"files", host_.reopen_logs()}}));
}

}  // namespace superd
