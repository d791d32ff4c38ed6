#include "proc/cgroup_limits.h"

#include <algorithm>

#include "proc/cgroup_file.h"

namespace superd {
namespace {

constexpr uint64_t kCpuPeriodUsec = 100000;
constexpr uint32_t kDefaultCpuWeight = 100;

bool offers(std::string_view text, std::string_view controller) {
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && (text[i] == ' ' || text[i] == '\n')) ++i;
    size_t start = i;
    while (i < text.size() && text[i] != ' ' && text[i] != '\n') ++i;
    if (text.substr(start, i - start) == controller) return true;
  }
  return false;
}

std::string lacking(std::string_view key, std::string_view controller) {
  return std::string(key) + ": this host has no " + std::string(controller) +
         " controller (neither in cgroup v2 nor as a v1 hierarchy superd may use); not enforced";
}

class Writer {
 public:
  Writer(const ControllerSites& sites, const CgroupLeaf& leaf, const CgroupLimits& limits,
         const CgroupLimits* previous)
      : sites_(sites), leaf_(leaf), now_(limits), before_(previous) {}

  std::vector<LimitIssue> run() {
    memory_max();
    memory_high();
    pids_max();
    cpu_weight();
    cpu_max();
    return std::move(issues_);
  }

 private:
  // Whether `key` must be written: set now, or set before and taken out since.
  template <typename T>
  bool due(const std::optional<T> CgroupLimits::*field) const {
    if (now_.*field) return !before_ || (*before_).*field != now_.*field;
    return before_ && ((*before_).*field).has_value();
  }

  const std::string* dir(Site site, std::string_view controller) const {
    if (site == Site::v2) return &leaf_.dir;
    if (site == Site::v1) return leaf_.v1_dir(controller);
    return nullptr;
  }

  void put(std::string_view key, const std::string& d, const std::string& file,
           const std::string& value) {
    std::string why;
    if (!write_cgroup_file(d, file, value, &why)) {
      issues_.push_back({std::string(key), std::string(key) + ": " + why, true});
    }
  }

  // The controller's directory for this leaf, or a warning (when the limit is set).
  const std::string* where(std::string_view key, Site site, std::string_view controller, bool set) {
    const std::string* d = dir(site, controller);
    if (!d && set) {
      std::string message = site == Site::none
                                ? lacking(key, controller)
                                : std::string(key) + ": the service's v1 " + std::string(controller) +
                                      " cgroup is missing; not enforced";
      issues_.push_back({std::string(key), message, site != Site::none});
    }
    return d;
  }

  void memory_max() {
    if (!due(&CgroupLimits::memory_max)) return;
    const std::string* d = where("memory_max", sites_.memory, "memory", now_.memory_max.has_value());
    if (!d) return;
    if (sites_.memory == Site::v2) {
      put("memory_max", *d, "memory.max", now_.memory_max ? std::to_string(*now_.memory_max) : "max");
    } else {
      put("memory_max", *d, "memory.limit_in_bytes",
          now_.memory_max ? std::to_string(*now_.memory_max) : "-1");
    }
  }

  void memory_high() {
    if (!due(&CgroupLimits::memory_high)) return;
    if (sites_.memory == Site::v1) {
      if (now_.memory_high) {
        issues_.push_back({"memory_high",
                           "memory_high: the memory controller is cgroup v1 here, which has no "
                           "equivalent of memory.high; not enforced",
                           false});
      }
      return;
    }
    const std::string* d = where("memory_high", sites_.memory, "memory", now_.memory_high.has_value());
    if (!d) return;
    put("memory_high", *d, "memory.high", now_.memory_high ? std::to_string(*now_.memory_high) : "max");
  }

  void pids_max() {
    if (!due(&CgroupLimits::pids_max)) return;
    const std::string* d = where("pids_max", sites_.pids, "pids", now_.pids_max.has_value());
    if (!d) return;
    put("pids_max", *d, "pids.max", now_.pids_max ? std::to_string(*now_.pids_max) : "max");
  }

  void cpu_weight() {
    if (!due(&CgroupLimits::cpu_weight)) return;
    const std::string* d = where("cpu_weight", sites_.cpu, "cpu", now_.cpu_weight.has_value());
    if (!d) return;
    uint32_t weight = now_.cpu_weight.value_or(kDefaultCpuWeight);
    if (sites_.cpu == Site::v2) {
      put("cpu_weight", *d, "cpu.weight", std::to_string(weight));
    } else {
      put("cpu_weight", *d, "cpu.shares", std::to_string(cpu_weight_to_shares(weight)));
    }
  }

  void cpu_max() {
    if (!due(&CgroupLimits::cpu_max_percent)) return;
    const std::string* d = where("cpu_max", sites_.cpu, "cpu", now_.cpu_max_percent.has_value());
    if (!d) return;
    const std::string period = std::to_string(kCpuPeriodUsec);
    std::string quota = now_.cpu_max_percent
                            ? std::to_string(uint64_t{*now_.cpu_max_percent} * kCpuPeriodUsec / 100)
                            : "";
    if (sites_.cpu == Site::v2) {
      put("cpu_max", *d, "cpu.max", (quota.empty() ? "max" : quota) + " " + period);
    } else {
      put("cpu_max", *d, "cpu.cfs_period_us", period);
      put("cpu_max", *d, "cpu.cfs_quota_us", quota.empty() ? "-1" : quota);
    }
  }

  const ControllerSites& sites_;
  const CgroupLeaf& leaf_;
  const CgroupLimits& now_;
  const CgroupLimits* before_;
  std::vector<LimitIssue> issues_;
};

}  // namespace

ControllerSites sites_of(const CgroupTree& tree) {
  auto site = [&](std::string_view c) {
    if (tree.v2_has(c)) return Site::v2;
    return tree.v1_base(c) ? Site::v1 : Site::none;
  };
  return {site("memory"), site("pids"), site("cpu")};
}

ControllerSites sites_of(const CgroupHost& host, std::string_view root_controllers) {
  auto site = [&](std::string_view c) {
    if (offers(root_controllers, c)) return Site::v2;
    return host.v1_dir(c) ? Site::v1 : Site::none;
  };
  return {site("memory"), site("pids"), site("cpu")};
}

std::vector<LimitIssue> unenforceable_limits(const ControllerSites& sites,
                                             const CgroupLimits& limits) {
  std::vector<LimitIssue> out;
  auto check = [&](bool set, std::string_view key, Site site, std::string_view controller) {
    if (set && site == Site::none) out.push_back({std::string(key), lacking(key, controller), false});
  };
  check(limits.memory_max.has_value(), "memory_max", sites.memory, "memory");
  check(limits.memory_high.has_value(), "memory_high", sites.memory, "memory");
  if (limits.memory_high && sites.memory == Site::v1) {
    out.push_back({"memory_high",
                   "memory_high: the memory controller is cgroup v1 here, which has no equivalent "
                   "of memory.high; not enforced",
                   false});
  }
  check(limits.pids_max.has_value(), "pids_max", sites.pids, "pids");
  check(limits.cpu_weight.has_value(), "cpu_weight", sites.cpu, "cpu");
  check(limits.cpu_max_percent.has_value(), "cpu_max", sites.cpu, "cpu");
  return out;
}

std::vector<LimitIssue> write_limits(const ControllerSites& sites, const CgroupLeaf& leaf,
                                     const CgroupLimits& limits, const CgroupLimits* previous) {
  return Writer(sites, leaf, limits, previous).run();
}

uint64_t cpu_weight_to_shares(uint32_t weight) {
  return std::clamp<uint64_t>(uint64_t{weight} * 1024 / 100, 2, 262144);
}

}  // namespace superd
