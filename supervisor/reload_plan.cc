#include "supervisor/reload_plan.h"

namespace superd {

ReloadPlan plan_reload(const std::vector<const ServiceConfig*>& current, const Config& next) {
  const ServiceIndex now(current), then(next.services);
  ReloadPlan plan;
  for (const ServiceConfig* old : current) {
    if (!then.find(old->name)) plan.removed.push_back(old->name);
  }
  for (const auto& sc : next.services) {
    const ServiceConfig* old = now.find(sc.name);
    if (!old) {
      plan.added.push_back(sc.name);
    } else if (!old->same_definition(sc)) {
      plan.changed.push_back(sc.name);
    } else {
      plan.unchanged.push_back(sc.name);
      if (!(old->resources == sc.resources)) plan.resources_changed.push_back(sc.name);
    }
  }
  return plan;
}

ReloadPlan plan_reload(const Config& current, const Config& next) {
  std::vector<const ServiceConfig*> services;
  services.reserve(current.services.size());
  for (const auto& s : current.services) services.push_back(&s);
  return plan_reload(services, next);
}

}  // namespace superd
