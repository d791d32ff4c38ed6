#include "supervisor/supervisor.h"

#include <algorithm>
#include <tuple>

#include "supervisor/config_instances.h"

namespace superd {

Supervisor::Supervisor(SupervisorHost& host, Enabled enabled)
    : host_(host), enabled_(std::move(enabled)) {}

Supervisor::~Supervisor() = default;

void Supervisor::load(const Config& config) {
  for (const auto& sc : config.services) add(sc);
  templates_ = config.templates;
  reorder(config);
}

Service& Supervisor::add(const ServiceConfig& config) {
  auto service = std::make_unique<Service>(config, static_cast<ServiceHost&>(*this));
  Service& ref = *service;
  services_[config.name] = std::move(service);
  host_.attach(ref);
  return ref;
}

void Supervisor::reorder(const Config& config) {
  dependents_stale_ = true;
  ordered_.clear();
  for (const auto& name : config.start_order()) {
    if (Service* s = find(name)) ordered_.push_back(s);
  }
}

void Supervisor::boot() {
  for (Service* s : ordered_) {
    if (enabled_(s->config())) pending_start_.insert(s->name());
  }
  schedule();
}

std::string Supervisor::reexec_busy() const {
  if (shutting_down_) return "superd is shutting down";
  for (const auto& roll : rolls_) {
    if (!roll->over()) return "a rolling restart of " + roll->service + " is under way";
  }
  if (!retired_.empty()) return retired_.front()->name() + " was removed and is still stopping";
  return "";
}

void Supervisor::resume(const std::vector<std::string>& pending) {
  for (const auto& name : pending) {
    if (services_.count(name)) pending_start_.insert(name);
  }
  schedule();
}

Service* Supervisor::find(const std::string& name) const {
  auto it = services_.find(name);
  return it == services_.end() ? nullptr : it->second.get();
}

std::vector<Service*> Supervisor::all() const {
  std::vector<Service*> out(ordered_);
  for (const auto& s : retired_) out.push_back(s.get());
  return out;
}

const ServiceTemplate* Supervisor::find_template(const std::string& name) const {
  for (const auto& t : templates_) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

std::vector<Service*> Supervisor::instances_of(const std::string& name) const {
  std::vector<Service*> out;
  for (const auto& [n, s] : services_) {
    if (s->config().template_name == name) out.push_back(s.get());
  }
  std::sort(out.begin(), out.end(),
            [](const Service* a, const Service* b) { return a->config().instance < b->config().instance; });
  return out;
}

Config Supervisor::current() const {
  std::vector<const Service*> order(ordered_.begin(), ordered_.end());
  std::stable_sort(order.begin(), order.end(), [](const Service* a, const Service* b) {
    const ServiceConfig &x = a->config(), &y = b->config();
    return std::tie(x.pos.line, x.pos.col, x.instance) < std::tie(y.pos.line, y.pos.col, y.instance);
  });
  Config config;
  for (const Service* s : order) config.services.push_back(s->config());
  config.templates = templates_;
  return config;
}

bool Supervisor::retired_running(const std::string& name) const {
  return std::any_of(retired_.begin(), retired_.end(),
                     [&](const std::unique_ptr<Service>& s) { return s->name() == name && s->has_processes(); });
}

void Supervisor::command(Command what, std::vector<Service*> services) {
  if (what == Command::restart) {
    restart(services, 1);
    return;
  }
  if (what == Command::stop) std::reverse(services.begin(), services.end());
  for (Service* s : services) {
    pending_start_.erase(s->name());
    if (what == Command::start) s->start();
    else s->stop();
  }
}

// ---- reload-config -------------------------------------------------------------

ReloadPlan Supervisor::reload(const Config& next) {
  std::vector<const ServiceConfig*> current;
  current.reserve(ordered_.size());
  for (Service* s : ordered_) current.push_back(&s->config());
  ReloadPlan plan = plan_reload(current, next);
  const ServiceIndex defined(next.services);

  for (auto it = plan.removed.rbegin(); it != plan.removed.rend(); ++it) retire(*it);
  std::map<std::string, std::vector<Roll::Step>> rolls;  // by template
  for (const auto& name : plan.changed) {
    Service& s = *find(name);
    const bool was_up = s.want_up() || s.has_processes();
    const ServiceConfig& redefined = *defined.find(name);
    if (was_up && !redefined.template_name.empty()) {
      rolls[redefined.template_name].push_back({name, redefined});
      continue;
    }
    const ServiceConfig before = s.config();
    s.set_config(redefined);
    host_.reconfigure(s, before);
    if (was_up) s.restart();
  }
  for (const auto& name : plan.resources_changed) {
    Service& s = *find(name);
    const ServiceConfig before = s.config();
    s.set_config(*defined.find(name));
    host_.reconfigure(s, before);
  }
  for (const auto& name : plan.added) {
    Service& s = add(*defined.find(name));
    if (enabled_(s.config())) pending_start_.insert(name);
  }
  templates_ = next.templates;
  reorder(next);
  for (auto& [service, steps] : rolls) begin_roll(service, std::move(steps), 1);
  collect_retired();
  schedule();
  return plan;
}

std::variant<Config, std::vector<ConfigError>> Supervisor::scaled(const std::string& name, int n) const {
  const Config now = current();
  auto next = with_instances(now, name, n);
  const Config* made = std::get_if<Config>(&next);
  if (!made) return next;
  const ServiceIndex running(now.services);
  for (const auto& s : made->services) {
    if (!running.find(s.name) && retired_running(s.name)) {
      return std::vector<ConfigError>{{{}, s.name + " is still stopping (removed by an earlier scale); "
                                               "scale again once it is gone"}};
    }
  }
  return next;
}

std::variant<ReloadPlan, std::vector<ConfigError>> Supervisor::scale(const std::string& name, int n) {
  auto next = scaled(name, n);
  if (auto* errors = std::get_if<std::vector<ConfigError>>(&next)) return *errors;
  return reload(std::get<Config>(next));
}

void Supervisor::retire(const std::string& name) {
  auto it = services_.find(name);
  pending_start_.erase(name);
  std::unique_ptr<Service> service = std::move(it->second);
  services_.erase(it);
  std::erase(ordered_, service.get());
  dependents_stale_ = true;
  host_.retiring(*service);
  service->stop();
  retired_.push_back(std::move(service));
}

void Supervisor::collect_retired() {
  std::erase_if(retired_, [this](const std::unique_ptr<Service>& s) {
    if (s->has_processes()) return false;
    host_.detach(*s);
    return true;
  });
}

// ---- ordering ------------------------------------------------------------------

bool Supervisor::dep_started(const Service& d) const {
  if (pending_start_.count(d.name())) return false;
  if (d.state() == State::backoff) return false;
  return !(d.state() == State::starting && !d.ready_for_dependents());
}

// An `after` entry names a service, or a template for each of its current instances
// (none: nothing to wait for).
bool Supervisor::deps_started(const Service& service) const {
  for (const auto& dep : service.config().after) {
    if (const Service* d = find(dep)) {
      if (!dep_started(*d)) return false;
      continue;
    }
    if (!find_template(dep)) continue;
    for (const Service* d : instances_of(dep)) {
      if (!dep_started(*d)) return false;
    }
  }
  return true;
}

void Supervisor::index_dependents() {
  dependents_.clear();
  for (const auto& [name, other] : services_) {
    for (const auto& dep : other->config().after) {
      auto& list = dependents_[dep];
      if (list.empty() || list.back() != other.get()) list.push_back(other.get());
    }
  }
  dependents_stale_ = false;
}

bool Supervisor::dependents_down(const Service& service) {
  if (dependents_stale_) index_dependents();
  for (const std::string* key : {&service.name(), &service.config().template_name}) {
    if (key->empty()) continue;
    auto it = dependents_.find(*key);
    if (it == dependents_.end()) continue;
    for (const Service* other : it->second) {
      if (other->has_processes() || other->state() == State::backoff) return false;
    }
  }
  return true;
}

void Supervisor::state_changed(Service& service, State from, const std::string& reason) {
  host_.state_changed(service, from, reason);
  schedule();
  host_.changed();
}

void Supervisor::progressed(Service& service) {
  host_.progressed(service);
  schedule();
  host_.changed();
}

void Supervisor::schedule() {
  // Transitions made here report back through state_changed(), which schedules again:
  // run the passes one after another instead of nested.
  if (scheduling_) {
    reschedule_ = true;
    return;
  }
  scheduling_ = true;
  do {
    reschedule_ = false;
    schedule_pass();
  } while (reschedule_);
  scheduling_ = false;
}

void Supervisor::schedule_pass() {
  if (shutting_down_) return shutdown_pass();
  // Start whatever waits and whose dependencies have started; starts that settle at once
  // (start_seconds = 0) release others through the next pass.
  std::vector<Service*> ready;
  if (!pending_start_.empty()) {
    for (Service* s : ordered_) {
      if (pending_start_.count(s->name()) && deps_started(*s)) ready.push_back(s);
    }
  }
  for (Service* s : ready) {
    pending_start_.erase(s->name());
    s->start();
  }
  advance_rolls();
}

void Supervisor::shutdown_pass() {
  for (Service* s : ordered_) {
    if ((s->want_up() || s->has_processes()) && dependents_down(*s)) s->stop();
  }
  for (Service* s : all()) {
    if (s->has_processes()) return;
  }
  if (all_stopped_sent_) return;
  all_stopped_sent_ = true;
  host_.all_stopped();
}

void Supervisor::begin_shutdown() {
  if (shutting_down_) return;
  shutting_down_ = true;
  dependents_stale_ = true;
  pending_start_.clear();
  for (auto& roll : rolls_) roll->end_early("superd is shutting down");
  schedule();
}

bool Supervisor::boot_done() const {
  if (!pending_start_.empty()) return false;
  for (Service* s : ordered_) {
    if (s->state() == State::starting || s->state() == State::backoff) return false;
  }
  return true;
}

}  // namespace superd
