// `superctl log`: the last lines of a service's log files, then, with follow, every
// new line as it is captured until the client goes.
#include <spdlog/spdlog.h>

#include "ipc/protocol.h"
#include "supervisor/control.h"
#include "supervisor/log_tail.h"

namespace superd {

using nlohmann::json;

void Control::cmd_log(const Conn& conn, const ipc::Request& req) {
  const json name = req.args.value("name", json());
  if (!name.is_string()) {
    conn->send(ipc::make_error(req.id, ipc::err::bad_request, "'name' (a service) is required"));
    return;
  }
  Service* service = supervisor_.find(name.get<std::string>());
  if (!service) {
    conn->send(ipc::make_error(req.id, ipc::err::not_found,
                               "no service '" + name.get<std::string>() + "'"));
    return;
  }
  const json lines_arg = req.args.value("lines", json(10));
  if (!lines_arg.is_number_integer() || lines_arg.get<int64_t>() < 0 ||
      lines_arg.get<int64_t>() > 100000) {
    conn->send(ipc::make_error(req.id, ipc::err::bad_request, "'lines' must be 0..100000"));
    return;
  }
  const auto count = static_cast<size_t>(lines_arg.get<int64_t>());
  const auto& c = service->config();
  auto lines = tail_lines(c.stdout_path, count);
  if (c.stderr_path != c.stdout_path) {
    // Two files cannot be interleaved faithfully; stderr's tail follows stdout's.
    auto more = tail_lines(c.stderr_path, count);
    lines.insert(lines.end(), more.begin(), more.end());
  }
  const bool follow_too = req.args.value("follow", false);
  if (!conn->send(ipc::make_ok(req.id, {{"lines", lines}, {"follow", follow_too}}))) return;
  Slot* slot = host_.slot(*service);
  if (follow_too && slot && slot->out) follow(conn, req.id, *slot);
}

// Every new line of the service, until the client goes (or stops reading and its output
// bound is exceeded, which closes it).
void Control::follow(const Conn& conn, int64_t id, Slot& slot) {
  std::weak_ptr<ipc::Connection> weak = conn;
  auto listener = [weak, id](std::string_view line) {
    if (auto c = weak.lock()) c->send(json{{"id", id}, {"line", std::string(line)}});
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

}  // namespace superd
