// reload-config: the new file loaded and checked, the saved instance counts applied,
// socket_group applied first (or the reload refused), then the Supervisor's diff.
#include <spdlog/spdlog.h>

#include <utility>

#include "supervisor/config_load.h"
#include "supervisor/daemon.h"

namespace superd {

nlohmann::json Daemon::reload_config() {
  LoadOptions options;
  options.keep_leftovers = true;  // freed after the reply (free_after_reply)
  options.log_file_open = [this](const std::string& service, const std::string& path, const PathTrust& trust) {
    const Service* s = supervisor_.find(service);
    return s && host_.writes_log(*s, path, trust);
  };
  LoadResult loaded = load_config_file(config_.path, options);
  if (!loaded.errors.empty()) {
    std::string message;
    nlohmann::json errors = nlohmann::json::array();
    for (const auto& e : loaded.errors) {
      if (!message.empty()) message += "\n";
      message += e.format();
      errors.push_back(e.format());
    }
    spdlog::error("reload-config: {} is invalid; nothing changed:\n{}", config_.path, message);
    nlohmann::json reply = ipc::make_error(0, ipc::err::invalid_config, message);
    reply["error"]["errors"] = errors;
    return reply;
  }
  for (const auto& w : loaded.warnings) spdlog::warn("reload-config: {}", w.format());
  Config next = with_saved_counts(std::move(*loaded.config));
  next.path = config_.path;
  if (next.supervisor.socket != config_.supervisor.socket ||
      next.supervisor.state_dir != config_.supervisor.state_dir) {
    spdlog::warn("reload-config: [supervisor] socket and state_dir apply at the next start");
  }
  // Before anything else changes: a socket_group that cannot be applied refuses the
  // whole reload (nothing is ever "ok" and ignored).
  std::string group_error;
  if (!apply_socket_group(next.supervisor, &group_error)) {
    spdlog::error("reload-config: {}; nothing changed", group_error);
    return ipc::make_error(0, ipc::err::failed, group_error + "; nothing changed");
  }
  host_.set_path_trust(next.supervisor.path_trust());
  const ReloadPlan plan = supervisor_.reload(next);
  free_after_reply(std::make_shared<Config>(std::exchange(config_, std::move(next))));
  free_after_reply(std::move(loaded.leftovers));
  spdlog::info("reload-config: {} added, {} removed, {} changed, {} unchanged", plan.added.size(),
               plan.removed.size(), plan.changed.size(), plan.unchanged.size());
  return ipc::make_ok(0, {{"added", plan.added},
                          {"removed", plan.removed},
                          {"changed", plan.changed},
                          {"unchanged", plan.unchanged}});
}

void Daemon::free_after_reply(std::shared_ptr<void> garbage) {
  if (!garbage) return;
  if (!after_reply_timer_.initialized()) {
    if (uv_timer_init(&loop_, after_reply_timer_.get()) != 0) return;  // freed here, now
    after_reply_timer_.mark_initialized();
    after_reply_timer_->data = this;
  }
  after_reply_.push_back(std::move(garbage));
  uv_timer_start(after_reply_timer_.get(), [](uv_timer_t* t) {
    if (auto* self = static_cast<Daemon*>(t->data)) self->after_reply_.clear();
  }, 0, 0);
}

Config Daemon::with_saved_counts(Config loaded) {
  ScaledConfig scaled = with_saved_scale(std::move(loaded), scale_store_.saved());
  for (const auto& problem : scaled.problems) spdlog::warn("{}", problem);
  for (const auto& name : scaled.forgotten) {
    spdlog::info("{}: the config's 'instances' replaces the count `superctl scale` saved", name);
    std::string error;
    if (!scale_store_.forget(name, &error)) spdlog::warn("{}", error);
  }
  for (const auto& t : scaled.config.templates) {
    const size_t running = scaled.config.expand(t.name).size();
    if (running != static_cast<size_t>(t.instances)) {
      spdlog::info("{}: {} instances (saved by `superctl scale`; the config says {})", t.name, running, t.instances);
    }
  }
  return std::move(scaled.config);
}

// A changed socket_group takes effect at once: the socket is chowned to root:NEW (0660;
// 0600 with none), every open connection is authorized again, and `log -f` streams of
// peers that are no longer authorized end. Old members can no longer connect; new ones
// can.
bool Daemon::apply_socket_group(const SupervisorConfig& next, std::string* error) {
  if (next.socket_group == config_.supervisor.socket_group) return true;
  const std::optional<gid_t> gid = socket_gid(next.socket_group, error);
  if (!error->empty()) return false;
  if (server_) {
    if (auto failure = server_->set_group(gid)) {
      *error = "socket_group: " + *failure;
      return false;
    }
  }
  control_.end_unauthorized_followers();
  spdlog::info("reload-config: socket_group '{}' -> '{}': the control socket is {} now",
               config_.supervisor.socket_group, next.socket_group,
               gid ? "root:" + next.socket_group + " 0660" : "root's only (0600)");
  return true;
}

}  // namespace superd
