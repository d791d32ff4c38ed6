#include "supervisor/control.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>

#include <spdlog/spdlog.h>

#include "base/values.h"
#include "ipc/protocol.h"
#include "supervisor/config_instances.h"
#include "version.h"

namespace superd {

using nlohmann::json;

namespace {

bool has_names(const ipc::Request& req) {
  return req.args.contains("names") && req.args["names"].is_array() && !req.args["names"].empty();
}

// ok with {"services": rows}, or `failures` as a `failed` error carrying the rows too.
json rows_reply(int64_t id, json services, const std::string& failures) {
  if (failures.empty()) return ipc::make_ok(id, {{"services", std::move(services)}});
  json reply = ipc::make_error(id, ipc::err::failed, failures);
  reply["result"] = {{"services", std::move(services)}};
  return reply;
}

void add_failure(std::string& failures, const std::string& what) {
  if (!failures.empty()) failures += "; ";
  failures += what;
}

}  // namespace

// Names from args.names ("all" = every service; a service with `instances` = every
// instance of it; NAME@K one). Replies not_found and returns nullopt when any is unknown,
// so a typo never acts on the other names.
std::optional<std::vector<Service*>> Control::resolve_names(const json& args, const Conn& conn,
                                                            int64_t id, bool allow_all) {
  const json names = args.contains("names") ? args["names"] : json::array();
  if (!names.is_array()) {
    conn->send(ipc::make_error(id, ipc::err::bad_request, "'names' must be an array of strings"));
    return std::nullopt;
  }
  std::vector<Service*> out;
  const auto& all = supervisor_.in_order();
  if (names.empty() && allow_all) out = all;
  for (const auto& n : names) {
    if (!n.is_string()) {
      conn->send(ipc::make_error(id, ipc::err::bad_request, "'names' must be an array of strings"));
      return std::nullopt;
    }
    const std::string name = n.get<std::string>();
    if (name == "all") {
      out.insert(out.end(), all.begin(), all.end());
    } else if (Service* s = supervisor_.find(name)) {
      out.push_back(s);
    } else if (supervisor_.find_template(name)) {
      for (Service* s : supervisor_.instances_of(name)) out.push_back(s);
    } else {
      conn->send(ipc::make_error(id, ipc::err::not_found, unknown_service(name)));
      return std::nullopt;
    }
  }
  // De-duplicate, keeping the first occurrence.
  std::vector<Service*> unique;
  for (Service* s : out) {
    if (std::find(unique.begin(), unique.end(), s) == unique.end()) unique.push_back(s);
  }
  return unique;
}

// "no service 'ap'", or for an instance past the count "no service 'worker@7' (worker
// has 3 instances: worker@0 to worker@2)".
std::string Control::unknown_service(const std::string& name) const {
  std::string message = "no service '" + name + "'";
  const size_t at = name.find('@');
  if (at == std::string::npos || !supervisor_.find_template(name.substr(0, at))) return message;
  const std::string family = name.substr(0, at);
  const size_t n = supervisor_.instances_of(family).size();
  if (n == 0) return message + " (" + family + " has no instances now)";
  return message + " (" + family + " has " + std::to_string(n) + (n == 1 ? " instance: " : " instances: ") +
         family + "@0" + (n == 1 ? "" : " to " + family + "@" + std::to_string(n - 1)) + ")";
}

void Control::handle(const Conn& conn, ipc::Request req) {
  host_.flush_records();
  const std::string& cmd = req.cmd;
  if (cmd == ipc::cmd::hello) {
    conn->send(ipc::make_ok(req.id, {{"protocol", ipc::kProtocolVersion},
                                     {"version", SUPERD_VERSION},
                                     {"pid", ::getpid()},
                                     {"reexecs", daemon_.reexecs ? daemon_.reexecs() : 0}}));
    return;
  }
  if (cmd == ipc::cmd::status) return cmd_status(conn, req);
  if (cmd == ipc::cmd::log) return cmd_log(conn, req);
  if (cmd == ipc::cmd::reopen_logs) return cmd_reopen_logs(conn, req);
  if (cmd == ipc::cmd::security) return cmd_security(conn, req);
  if (supervisor_.shutting_down()) {
    conn->send(ipc::make_error(req.id, ipc::err::shutting_down, "superd is shutting down"));
    return;
  }
  if (cmd == ipc::cmd::start || cmd == ipc::cmd::stop || cmd == ipc::cmd::restart) {
    return cmd_lifecycle(conn, req);
  }
  if (cmd == ipc::cmd::reload || cmd == ipc::cmd::signal) return cmd_signal(conn, req);
  if (cmd == ipc::cmd::scale) return cmd_scale(conn, req);
  if (cmd == ipc::cmd::enable || cmd == ipc::cmd::disable) return cmd_enable(conn, req);
  if (cmd == ipc::cmd::reload_config) {
    json reply = daemon_.reload_config();
    reply["id"] = req.id;
    conn->send(reply);
    return;
  }
  if (cmd == ipc::cmd::reexec) return daemon_.reexec(conn, req.id);
  if (cmd == ipc::cmd::shutdown) {
    conn->send(ipc::make_ok(req.id, json::object()));
    daemon_.shutdown("shutdown requested by uid " + std::to_string(conn->peer().uid));
    return;
  }
  conn->send(ipc::make_error(req.id, ipc::err::unknown_command, "unknown command '" + cmd + "'"));
}

void Control::cmd_lifecycle(const Conn& conn, const ipc::Request& req) {
  if (!has_names(req)) {
    conn->send(ipc::make_error(req.id, ipc::err::bad_request, "name at least one service, or all"));
    return;
  }
  auto services = resolve_names(req.args, conn, req.id, false);
  if (!services) return;
  std::vector<std::string> names;
  for (Service* s : *services) names.push_back(s->name());
  spdlog::info("{} {} (uid {})", req.cmd, fmt::join(names, " "), conn->peer().uid);
  if (req.cmd == ipc::cmd::restart) {
    const json parallel = req.args.value("parallel", json(1));
    if (!parallel.is_number_integer() || parallel.get<int64_t>() < 1 || parallel.get<int64_t>() > kMaxInstances) {
      conn->send(ipc::make_error(req.id, ipc::err::bad_request,
                                 "'parallel' must be 1 to " + std::to_string(kMaxInstances)));
      return;
    }
    auto rolls = supervisor_.restart(*services, static_cast<size_t>(parallel.get<int64_t>()));
    return wait_for(conn, req.id, req.cmd, *services, std::move(rolls));
  }
  supervisor_.command(req.cmd == ipc::cmd::start ? Command::start : Command::stop, *services);
  wait_for(conn, req.id, req.cmd, *services);
}

void Control::wait_for(const Conn& conn, int64_t id, std::string cmd, std::vector<Service*> services,
                       std::vector<RollPtr> rolls) {
  std::vector<std::string> names;
  for (Service* s : services) names.push_back(s->name());
  conn->defer_reply();
  waiters_.push_back({conn, id, std::move(cmd), std::move(names), std::move(rolls), {}, json()});
  check_waiters();
}

void Control::check_waiters() {
  if (!waiters_.empty()) host_.flush_records();  // a reply may name a new pid
  std::vector<Waiter> still;
  for (auto& w : waiters_) {
    auto conn = w.conn.lock();
    if (!conn || !conn->is_open()) continue;
    if (!finished_ && !waiter_done(w)) {
      still.push_back(std::move(w));
      continue;
    }
    answer(*conn, w);
  }
  waiters_ = std::move(still);
}

namespace {

bool rolled(const std::vector<RollPtr>& rolls, const std::string& name) {
  return std::any_of(rolls.begin(), rolls.end(), [&](const RollPtr& r) {
    return std::find(r->names.begin(), r->names.end(), name) != r->names.end();
  });
}

json rolls_json(const std::vector<RollPtr>& rolls) {
  json out = json::array();
  for (const RollPtr& r : rolls) {
    out.push_back({{"service", r->service},
                   {"restarted", r->restarted},
                   {"failed", r->failure.empty() ? r->stopped : r->failure},
                   {"untouched", r->untouched}});
  }
  return out;
}

}  // namespace

bool Control::waiter_done(const Waiter& w) const {
  for (const RollPtr& roll : w.rolls) {
    if (!roll->over()) return false;
  }
  for (const auto& name : w.names) {
    const Service* s = supervisor_.find(name);
    if (!s || rolled(w.rolls, name)) continue;  // removed meanwhile, or its roll said
    if (!s->settled() || (w.cmd == ipc::cmd::stop && s->has_processes())) return false;
  }
  return std::none_of(w.removed.begin(), w.removed.end(),
                      [&](const std::string& name) { return supervisor_.retired_running(name); });
}

void Control::answer(ipc::Connection& conn, const Waiter& w) {
  json services = json::array();
  std::string failures;
  for (const RollPtr& roll : w.rolls) {
    if (!roll->outcome().empty()) add_failure(failures, roll->outcome());
  }
  for (const auto& name : w.names) {
    const Service* s = supervisor_.find(name);
    if (!s) continue;
    services.push_back(service_status(*s));
    if (rolled(w.rolls, name)) continue;
    if (w.cmd == ipc::cmd::restart && !s->restart_failure().empty()) {
      add_failure(failures, name + ": restart failed: " + s->restart_failure() + "; pid " +
                                std::to_string(s->pid()) + " keeps serving");
    } else if (w.cmd != ipc::cmd::stop && s->state() != State::running && s->state() != State::exited) {
      add_failure(failures, name + ": " + state_name(s->state()) + (s->reason().empty() ? "" : ": " + s->reason()));
    }
  }
  json reply = rows_reply(w.id, std::move(services), failures);
  json& result = reply["result"];
  if (!w.rolls.empty()) result["rolls"] = rolls_json(w.rolls);
  if (w.extra.is_object()) result.update(w.extra);
  conn.send(reply);
  conn.deferred_reply_sent();
}

void Control::cmd_signal(const Conn& conn, const ipc::Request& req) {
  std::optional<int> signo;
  if (req.cmd == ipc::cmd::signal) {
    const json sig = req.args.value("signal", json());
    std::string error = "'signal' is required";
    if (sig.is_string()) signo = parse_signal(sig.get<std::string>(), &error);
    if (sig.is_number_integer()) signo = parse_signal(std::to_string(sig.get<int64_t>()), &error);
    if (!signo) {
      conn->send(ipc::make_error(req.id, ipc::err::bad_request, error));
      return;
    }
  }
  if (!req.args.contains("names") || req.args["names"].empty()) {
    conn->send(ipc::make_error(req.id, ipc::err::bad_request, "name at least one service, or all"));
    return;
  }
  auto services = resolve_names(req.args, conn, req.id, false);
  if (!services) return;
  json rows = json::array();
  std::string failures;
  for (Service* s : *services) {
    int sig = signo.value_or(s->config().reload_signal);
    if (s->pid() == 0) {
      add_failure(failures, s->name() + " is not running");
      continue;
    }
    spdlog::info("{}: sending SIG{} to pid {} (uid {})", s->name(), signal_name(sig), s->pid(),
                 conn->peer().uid);
    host_.signal_process(s->pid(), sig);
    rows.push_back(service_status(*s));
  }
  conn->send(rows_reply(req.id, std::move(rows), failures));
}

void Control::cmd_enable(const Conn& conn, const ipc::Request& req) {
  if (!has_names(req)) {
    conn->send(ipc::make_error(req.id, ipc::err::bad_request, "name at least one service, or all"));
    return;
  }
  auto services = resolve_names(req.args, conn, req.id, false);
  if (!services) return;
  const bool enable = req.cmd == ipc::cmd::enable;
  // A service with `instances` named as a whole: the choice is its own too, so the
  // instances a later `scale` adds follow it.
  std::vector<std::string> keys;
  for (const auto& n : req.args["names"]) {
    if (n.is_string() && supervisor_.find_template(n.get<std::string>())) keys.push_back(n.get<std::string>());
  }
  for (Service* s : *services) keys.push_back(s->name());
  for (const std::string& key : keys) {
    std::string error;
    if (!enable_store_.set(key, enable, &error)) {
      conn->send(ipc::make_error(req.id, ipc::err::failed, "saving the choice: " + error));
      return;
    }
    spdlog::info("{}: {} (uid {})", key, enable ? "enabled" : "disabled", conn->peer().uid);
  }
  if (!req.args.value("now", false)) {
    json rows = json::array();
    for (Service* s : *services) rows.push_back(service_status(*s));
    conn->send(ipc::make_ok(req.id, {{"services", std::move(rows)}}));
    return;
  }
  supervisor_.command(enable ? Command::start : Command::stop, *services);
  wait_for(conn, req.id, std::string(enable ? ipc::cmd::start : ipc::cmd::stop), *services);
}

}  // namespace superd
