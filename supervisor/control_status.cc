// `superctl status`: one row per service (instances included, each with the service it
// comes from and its number), the cgroup's numbers read when asked, and one group per
// service with `instances` the request concerns (how many run, how many the file says).
#include <algorithm>
#include <chrono>

#include "ipc/protocol.h"
#include "supervisor/control.h"

namespace superd {

using nlohmann::json;

namespace {

double unix_seconds(TimePoint t) {
  auto delta = Clock::now() - t;
  auto wall = std::chrono::system_clock::now() - delta;
  return std::chrono::duration<double>(wall.time_since_epoch()).count();
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

// `superctl enable/disable` outlives the config's `enabled`; an instance without a
// choice of its own takes its service's (`superctl disable worker` covers instances that
// `scale` adds later).
bool Control::effective_enabled(const ServiceConfig& service) const {
  if (auto saved = enable_store_.get(service.name)) return *saved;
  if (!service.template_name.empty()) {
    if (auto saved = enable_store_.get(service.template_name)) return *saved;
  }
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
  const ServiceConfig& c = s.config();
  o.emplace("service", c.template_name.empty() ? c.name : c.template_name);
  o.emplace("instance", c.instance >= 0 ? json(c.instance) : json(nullptr));
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


void Control::cmd_status(const Conn& conn, const ipc::Request& req) {
  auto services = resolve_names(req.args, conn, req.id, true);
  if (!services) return;
  json rows = json::array();
  for (Service* s : *services) rows.push_back(service_status(*s));
  json result = {{"services", std::move(rows)}, {"groups", groups_of(*services, req.args.value("names", json()))}};
  if (const Cgroups* cgroups = host_.cgroups()) {
    // superctl words the line after the table from why_not (status_format.cc).
    result["cgroups"] = cgroups->used() ? json{{"used", true}, {"root", cgroups->tree->root()}}
                                        : json{{"used", false}, {"why_not", cgroups->why_not}};
  }
  conn->send(ipc::make_ok(req.id, std::move(result)));
}


// The services with `instances` among `services` or named (a service scaled to 0 has no
// row, yet `status worker` should say so), in file order.
json Control::groups_of(const std::vector<Service*>& services, const json& names) const {
  json groups = json::array();
  const bool everything = !names.is_array() || names.empty() ||
                          std::find(names.begin(), names.end(), "all") != names.end();
  for (const ServiceTemplate& t : supervisor_.templates()) {
    const bool named = names.is_array() && std::find(names.begin(), names.end(), t.name) != names.end();
    const bool shown = std::any_of(services.begin(), services.end(),
                                   [&](const Service* s) { return s->config().template_name == t.name; });
    if (!everything && !named && !shown) continue;
    groups.push_back({{"service", t.name},
                      {"instances", supervisor_.instances_of(t.name).size()},
                      {"configured", t.instances}});
  }
  return groups;
}

}  // namespace superd
