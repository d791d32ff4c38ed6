#include "supervisor/reload_plan.h"

namespace superd {

ReloadPlan plan_reload(const Config& current, const Config& next) {
  ReloadPlan plan;
  for (const auto& old : current.services) {
    if (!next.find(old.name)) plan.removed.push_back(old.name);
  }
  for (const auto& sc : next.services) {
    const ServiceConfig* old = current.find(sc.name);
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

}  // namespace superd
