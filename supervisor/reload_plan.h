// reload-config as a pure diff: which services a new config adds, removes, changes or
// leaves alone. Nothing here acts; Supervisor::reload() applies the plan.
#pragma once

#include <string>
#include <vector>

#include "supervisor/config.h"

namespace superd {

struct ReloadPlan {
  std::vector<std::string> added;      // in the new file's order
  std::vector<std::string> removed;    // in the old file's order
  std::vector<std::string> changed;    // same name, different definition: restarted
  std::vector<std::string> unchanged;  // same definition: not touched at all
  // Changed services whose only difference is `resources`: limits are rewritten in
  // place, the process keeps running.
  std::vector<std::string> resources_changed;
};

ReloadPlan plan_reload(const Config& current, const Config& next);
// The same, for the running services' own configs (no copy of them).
ReloadPlan plan_reload(const std::vector<const ServiceConfig*>& current, const Config& next);

}  // namespace superd
