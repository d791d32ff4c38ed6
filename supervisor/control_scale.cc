// `superctl scale NAME N`: the new count checked (Supervisor::scaled), saved in
// state_dir, then applied as a reload of the same config at that count: new instances
// start, surplus ones stop, the others are not touched. The reply waits until the new
// ones run (or failed) and the removed ones are gone.
#include <spdlog/spdlog.h>

#include "ipc/protocol.h"
#include "supervisor/config_instances.h"
#include "supervisor/control.h"

namespace superd {

using nlohmann::json;

void Control::cmd_scale(const Conn& conn, const ipc::Request& req) {
  const json name = req.args.value("name", json());
  const json count = req.args.value("instances", json());
  if (!name.is_string() || !count.is_number_integer()) {
    conn->send(ipc::make_error(req.id, ipc::err::bad_request,
                               "'name' (a service) and 'instances' (a number) are required"));
    return;
  }
  const std::string service = name.get<std::string>();
  const int64_t n = count.get<int64_t>();
  if (n < 0 || n > kMaxInstances) {
    conn->send(ipc::make_error(req.id, ipc::err::bad_request,
                               "'instances' must be 0 to " + std::to_string(kMaxInstances)));
    return;
  }
  const ServiceTemplate* t = supervisor_.find_template(service);
  if (!t && !supervisor_.find(service)) {
    conn->send(ipc::make_error(req.id, ipc::err::not_found, unknown_service(service)));
    return;
  }
  auto next = supervisor_.scaled(service, static_cast<int>(n));
  if (auto* errors = std::get_if<std::vector<ConfigError>>(&next)) {
    std::string message;
    for (const auto& e : *errors) message += (message.empty() ? "" : "\n") + e.format();
    conn->send(ipc::make_error(req.id, ipc::err::failed, message));
    return;
  }
  // Saved first: a count that would not outlive superd is not applied either. The
  // file's own count needs no saving.
  std::string error;
  const bool saved = n == t->instances ? scale_store_.forget(service, &error)
                                       : scale_store_.set(service, {static_cast<int>(n), t->instances}, &error);
  if (!saved) {
    conn->send(ipc::make_error(req.id, ipc::err::failed, "saving the count: " + error));
    return;
  }
  const ReloadPlan plan = supervisor_.reload(std::get<Config>(next));
  spdlog::info("scale {} to {} (uid {}): {} added, {} removed", service, n, conn->peer().uid, plan.added.size(),
               plan.removed.size());
  conn->defer_reply();
  waiters_.push_back({conn, req.id, std::string(ipc::cmd::start), plan.added, {}, plan.removed,
                      json{{"service", service}, {"instances", n}, {"added", plan.added}, {"removed", plan.removed}}});
  check_waiters();
}

}  // namespace superd
