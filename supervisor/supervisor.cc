#include "supervisor/supervisor.h"

#include <algorithm>

namespace superd {

Supervisor::Supervisor(SupervisorHost& host, Enabled enabled)
    : host_(host), enabled_(std::move(enabled)) {}

Supervisor::~Supervisor() = default;

void Supervisor::load(const Config& config) {
  for (const auto& sc : config.services) add(sc);
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

Service* Supervisor::find(const std::string& name) const {
  auto it = services_.find(name);
  return it == services_.end() ? nullptr : it->second.get();
}

std::vector<Service*> Supervisor::all() const {
  std::vector<Service*> out(ordered_);
  for (const auto& s : retired_) out.push_back(s.get());
  return out;
}

void Supervisor::command(Command what, std::vector<Service*> services) {
  if (what == Command::stop) std::reverse(services.begin(), services.end());
  for (Service* s : services) {
    pending_start_.erase(s->name());
    switch (what) {
      case Command::start: s->start(); break;
      case Command::stop: s->stop(); break;
      case Command::restart: s->restart(); break;
    }
  }
}

// ---- reload-config -------------------------------------------------------------

ReloadPlan Supervisor::reload(const Config& next) {
  Config current;
  for (Service* s : ordered_) current.services.push_back(s->config());
  ReloadPlan plan = plan_reload(current, next);

  for (const auto& name : plan.removed) retire(name);
  for (const auto& name : plan.changed) {
    Service& s = *find(name);
    const bool was_up = s.want_up() || s.has_processes();
    const ServiceConfig before = s.config();
    s.set_config(*next.find(name));
    host_.reconfigure(s, before);
    if (was_up) s.restart();
  }
  for (const auto& name : plan.resources_changed) {
    Service& s = *find(name);
    const ServiceConfig before = s.config();
    s.set_config(*next.find(name));
    host_.reconfigure(s, before);
  }
  for (const auto& name : plan.added) {
    Service& s = add(*next.find(name));
    if (enabled_(s.config())) pending_start_.insert(name);
  }
  reorder(next);
  collect_retired();
  schedule();
  return plan;
}

void Supervisor::retire(const std::string& name) {
  auto it = services_.find(name);
  pending_start_.erase(name);
  std::unique_ptr<Service> service = std::move(it->second);
  services_.erase(it);
  std::erase(ordered_, service.get());
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

bool Supervisor::deps_started(const Service& service) const {
  for (const auto& dep : service.config().after) {
    if (pending_start_.count(dep)) return false;
    const Service* d = find(dep);
    if (!d) continue;
    if (d->state() == State::backoff) return false;
    if (d->state() == State::starting && !d->ready_for_dependents()) return false;
  }
  return true;
}

bool Supervisor::dependents_down(const Service& service) const {
  for (const auto& [name, other] : services_) {
    const auto& after = other->config().after;
    if (std::find(after.begin(), after.end(), service.name()) != after.end() &&
        (other->has_processes() || other->state() == State::backoff)) {
      return false;
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
  for (Service* s : ordered_) {
    if (pending_start_.count(s->name()) && deps_started(*s)) ready.push_back(s);
  }
  for (Service* s : ready) {
    pending_start_.erase(s->name());
    s->start();
  }
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
  pending_start_.clear();
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
