#include "supervisor/control.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>

#include <spdlog/spdlog.h>

#include "base/values.h"
#include "ipc/protocol.h"
#include "version.h"

namespace superd {

using nlohmann::json;

namespace {

double unix_seconds(TimePoint t) {
  auto delta = Clock::now() - t;
  auto wall = std::chrono::system_clock::now() - delta;
  return std::chrono::duration<double>(wall.time_since_epoch()).count();
}

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

// SPEC's usage fields, read now (nothing samples them in between); null when unknown or
// without cgroups. `cgroup_issues`: the limits this host does not enforce, one line each.
void Control::add_cgroup_status(json::object_t& o, const Service& s, const Slot* slot) const {
  auto value = [](const std::optional<uint64_t>& v) { return v ? json(*v) : json(nullptr); };
  const CgroupLeaf* leaf = slot && slot->cgroup ? slot->cgroup->current() : nullptr;
  CgroupUsage usage = leaf ? slot->cgroup->usage() : CgroupUsage{};
  o.emplace("cgroup", leaf ? json(leaf->dir) : json(nullptr));
  o.emplace("memory_current", value(usage.memory_current));
  o.emplace("memory_peak", value(usage.memory_peak));
  o.emplace("cpu_usage_usec", value(usage.cpu_usage_usec));
  o.emplace("pids_current", value(usage.pids_current));
  o.emplace("oom_kills", value(usage.oom_kills));
  json issues = json::array();
  if (const Cgroups* cgroups = host_.cgroups()) {
    for (const auto& issue : limit_issues(*cgroups, s.config().resources)) issues.push_back(issue.message);
  }
  if (slot && slot->cgroup) {
    for (const auto& line : slot->cgroup->issues()) {
      if (std::find(issues.begin(), issues.end(), line) == issues.end()) issues.push_back(line);
    }
  }
  o.emplace("cgroup_issues", std::move(issues));
}

// `superctl enable/disable` outlives the config's `enabled`.
bool Control::effective_enabled(const ServiceConfig& service) const {
  if (auto saved = enable_store_.get(service.name)) return *saved;
  return service.enabled;
}

json Control::service_status(const Service& s) const {
  double uptime = 0;
  if (s.pid() != 0) {
    uptime = std::chrono::duration<double>(Clock::now() - s.process_started()).count();
  }
  const Slot* slot = host_.slot(s);
  // Filled in place: a braced json{{k, v}...} list copies every value and scans the list
  // to decide object or array, which made this 2.7x slower, 100 services at a time.
  json row(json::value_t::object);
  auto& o = *row.get_ptr<json::object_t*>();
  o.emplace("name", s.name());
  o.emplace("state", state_name(s.state()));
  o.emplace("pid", s.pid());
  o.emplace("since", unix_seconds(s.since()));
  o.emplace("uptime", uptime);
  o.emplace("restarts", s.restarts());
  o.emplace("enabled", effective_enabled(s.config()));
  o.emplace("desired", s.want_up() ? "up" : "down");
  o.emplace("last_exit", s.last_exit());
  o.emplace("reason", s.reason());
  o.emplace("status_text", slot ? slot->status_text : std::string());
  o.emplace("old_pid", s.old_pid());
  add_cgroup_status(o, s, slot);
  return row;
}

// Names from args.names ("all" = every service). Replies not_found and returns nullopt
// when any is unknown, so a typo never acts on the other names.
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
      continue;
    }
    Service* s = supervisor_.find(name);
    if (!s) {
      conn->send(ipc::make_error(id, ipc::err::not_found, "no service '" + name + "'"));
      return std::nullopt;
    }
    out.push_back(s);
  }
  // De-duplicate, keeping the first occurrence.
  std::vector<Service*> unique;
  for (Service* s : out) {
    if (std::find(unique.begin(), unique.end(), s) == unique.end()) unique.push_back(s);
  }
  return unique;
}

void Control::handle(const Conn& conn, ipc::Request req) {
  const std::string& cmd = req.cmd;
  if (cmd == ipc::cmd::hello) {
    conn->send(ipc::make_ok(req.id, {{"protocol", ipc::kProtocolVersion},
                                     {"version", SUPERD_VERSION},
                                     {"pid", ::getpid()}}));
    return;
  }
  if (cmd == ipc::cmd::status) return cmd_status(conn, req);
  if (cmd == ipc::cmd::log) return cmd_log(conn, req);
  if (cmd == ipc::cmd::reopen_logs) return cmd_reopen_logs(conn, req);
  if (supervisor_.shutting_down()) {
    conn->send(ipc::make_error(req.id, ipc::err::shutting_down, "superd is shutting down"));
    return;
  }
  if (cmd == ipc::cmd::start || cmd == ipc::cmd::stop || cmd == ipc::cmd::restart) {
    return cmd_lifecycle(conn, req);
  }
  if (cmd == ipc::cmd::reload || cmd == ipc::cmd::signal) return cmd_signal(conn, req);
  if (cmd == ipc::cmd::enable || cmd == ipc::cmd::disable) return cmd_enable(conn, req);
  if (cmd == ipc::cmd::reload_config) {
    json reply = daemon_.reload_config();
    reply["id"] = req.id;
    conn->send(reply);
    return;
  }
  if (cmd == ipc::cmd::shutdown) {
    conn->send(ipc::make_ok(req.id, json::object()));
    daemon_.shutdown("shutdown requested by uid " + std::to_string(conn->peer().uid));
    return;
  }
  conn->send(ipc::make_error(req.id, ipc::err::unknown_command, "unknown command '" + cmd + "'"));
}

void Control::cmd_status(const Conn& conn, const ipc::Request& req) {
  auto services = resolve_names(req.args, conn, req.id, true);
  if (!services) return;
  json rows = json::array();
  for (Service* s : *services) rows.push_back(service_status(*s));
  json result = {{"services", std::move(rows)}};
  if (const Cgroups* cgroups = host_.cgroups()) {
    result["cgroups"] = cgroups->used() ? json{{"used", true}, {"root", cgroups->tree->root()}}
                                        : json{{"used", false}, {"why_not", cgroups->why_not}};
    result["cgroups"]["line"] = cgroups->line();
  }
  conn->send(ipc::make_ok(req.id, std::move(result)));
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
  const Command what = req.cmd == ipc::cmd::start  ? Command::start
                       : req.cmd == ipc::cmd::stop ? Command::stop
                                                   : Command::restart;
  supervisor_.command(what, *services);
  wait_for(conn, req.id, req.cmd, *services);
}

void Control::wait_for(const Conn& conn, int64_t id, std::string cmd,
                       std::vector<Service*> services) {
  std::vector<std::string> names;
  for (Service* s : services) names.push_back(s->name());
  conn->defer_reply();
  waiters_.push_back({conn, id, std::move(cmd), std::move(names)});
  check_waiters();
}

void Control::check_waiters() {
  std::vector<Waiter> still;
  for (auto& w : waiters_) {
    auto conn = w.conn.lock();
    if (!conn || !conn->is_open()) continue;
    bool done = true;
    json services = json::array();
    std::string failures;
    for (const auto& name : w.names) {
      const Service* s = supervisor_.find(name);
      if (!s) continue;  // removed by reload-config meanwhile
      bool finished = s->settled() && (w.cmd != ipc::cmd::stop || !s->has_processes());
      if (!finished && !finished_) {
        done = false;
        break;
      }
      services.push_back(service_status(*s));
      if (w.cmd == ipc::cmd::restart && !s->restart_failure().empty()) {
        add_failure(failures, name + ": restart failed: " + s->restart_failure() + "; pid " +
                                  std::to_string(s->pid()) + " keeps serving");
      } else if (w.cmd != ipc::cmd::stop && s->state() != State::running &&
                 s->state() != State::exited) {
        add_failure(failures, name + ": " + state_name(s->state()) +
                                  (s->reason().empty() ? "" : ": " + s->reason()));
      }
    }
    if (!done) {
      still.push_back(std::move(w));
      continue;
    }
    conn->send(rows_reply(w.id, std::move(services), failures));
    conn->deferred_reply_sent();
  }
  waiters_ = std::move(still);
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
  for (Service* s : *services) {
    std::string error;
    if (!enable_store_.set(s->name(), enable, &error)) {
      conn->send(ipc::make_error(req.id, ipc::err::failed, "saving the choice: " + error));
      return;
    }
    spdlog::info("{}: {} (uid {})", s->name(), enable ? "enabled" : "disabled",
                 conn->peer().uid);
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
