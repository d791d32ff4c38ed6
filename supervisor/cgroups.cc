#include "supervisor/cgroups.h"

#include <signal.h>

#include <spdlog/spdlog.h>

#include "ipc/status_format.h"
#include "proc/cgroup_file.h"
#include "proc/cgroup_host.h"
#include "proc/cgroup_kill.h"
#include "supervisor/config_resources_load.h"

namespace superd {

CgroupLimits limits_of(const ResourcesConfig& r) {
  return {r.memory_max, r.memory_high, r.pids_max, r.cpu_weight, r.cpu_max_percent};
}

std::string Cgroups::line() const {
  if (!tree) return ipc::cgroups_not_used_line(why_not);
  std::string v1;
  for (auto c : kCgroupControllers) {
    if (tree->v1_base(c)) v1 += (v1.empty() ? "" : ", ") + std::string(c);
  }
  return "cgroups: " + tree->root() + (v1.empty() ? "" : " (" + v1 + " as cgroup v1)");
}

Cgroups setup_cgroups(const CgroupSetting& setting, bool apply, const CgroupOrigin* origin) {
  Cgroups out;
  std::string error;
  auto host = read_cgroup_host(&error);
  if (!host) {
    out.why_not = error;
    return out;
  }
  if (origin && !origin->own_v2.empty()) {
    host->own_v2 = origin->own_v2;
    host->own_v2_dir = origin->own_v2_dir;
  }
  out.origin = {host->own_v2, host->own_v2_dir};
  CgroupMode mode = setting.mode == CgroupSetting::Mode::off    ? CgroupMode::off
                    : setting.mode == CgroupSetting::Mode::path ? CgroupMode::path
                                                                : CgroupMode::automatic;
  CgroupRootChoice choice = choose_cgroup_root(*host, mode, setting.path, read_cgroup_facts(*host));
  if (choice.root.empty()) {
    out.why_not = choice.why_not;
    return out;
  }
  if (std::string why = probe_cgroup_root(choice.root, choice.create); !why.empty()) {
    out.why_not = why;
    return out;
  }
  if (!apply) {
    // What the leaves would get, without making anything.
    std::string offered;
    std::string ignored;
    if (auto text = read_cgroup_file(choice.root, "cgroup.controllers", &ignored)) offered = *text;
    out.sites = sites_of(*host, offered);
    out.tree = CgroupTree::attach(*host, choice.root, choice.root == host->own_v2_dir);
    return out;
  }
  out.tree = CgroupTree::setup(*host, choice, &error);
  if (!out.tree) {
    out.why_not = error;
    return out;
  }
  out.sites = sites_of(*out.tree);
  out.notes = out.tree->notes();
  return out;
}

std::vector<LimitIssue> limit_issues(const Cgroups& cgroups, const ResourcesConfig& resources) {
  const CgroupLimits limits = limits_of(resources);
  if (limits.empty()) return {};
  if (!cgroups.used()) {
    return {{"resources", "resources: not enforced: cgroups are not used (" + cgroups.why_not + ")", true}};
  }
  return unenforceable_limits(cgroups.sites, limits);
}

struct ServiceCgroup::Leaf {
  CgroupLeaf leaf;
  CgroupWatch watch;
  pid_t owner = 0;
  uint64_t oom_base = 0;
  bool reported_empty = false;
  // cgroup.kill was written: this kernel (6.18) kills a child clone3'd into the leaf
  // afterwards, so the leaf is made anew before it takes another instance.
  bool killed = false;
  CgroupLimits written;
  std::vector<std::string> join_after_spawn;  // v1 leaves that only count (cgroup_join.h)
};

ServiceCgroup::ServiceCgroup(Cgroups& cgroups, uv_loop_t* loop, std::string service, EmptyFn on_empty)
    : cgroups_(cgroups), loop_(loop), service_(std::move(service)), on_empty_(std::move(on_empty)) {}

ServiceCgroup::~ServiceCgroup() { release_idle(false); }

ServiceCgroup::Leaf* ServiceCgroup::find(pid_t owner) {
  if (owner <= 0) return nullptr;
  for (auto& l : leaves_) {
    if (l && l->owner == owner) return l.get();
  }
  return nullptr;
}

void ServiceCgroup::write(Leaf& leaf, const CgroupLimits& limits, const CgroupLimits* before) {
  issues_.clear();
  for (const auto& issue : write_limits(cgroups_.sites, leaf.leaf, limits, before)) {
    issues_.push_back(issue.message);
    if (issue.error) spdlog::error("{}: {}", service_, issue.message);
  }
  leaf.written = limits;
}

bool ServiceCgroup::prepare(const ResourcesConfig& resources, pid_t busy_owner, CgroupJoinFds* fds,
                            std::string* error) {
  // The current leaf, unless the instance that is still there (a swap) holds it.
  int index = current_ < 0 ? 0 : current_;
  if (leaves_[index] && busy_owner != 0 && leaves_[index]->owner == busy_owner) index = 1 - index;
  if (leaves_[index] && leaves_[index]->killed && !leaves_[index]->watch.populated(true)) {
    leaves_[index]->watch.stop();
    if (cgroups_.tree->remove_leaf(leaves_[index]->leaf, error)) leaves_[index].reset();
  }
  const CgroupLimits limits = limits_of(resources);
  if (!leaves_[index]) {
    auto made = cgroups_.tree->make_leaf(cgroup_leaf_name(service_, index == 1), limits.wants_cpu(), error);
    if (!made) return false;
    auto leaf = std::make_unique<Leaf>();
    leaf->leaf = std::move(*made);
    Leaf* raw = leaf.get();
    if (!leaf->watch.start(
            loop_, leaf->leaf.dir,
            [this, raw](bool populated) {
              if (populated || raw->owner == 0 || raw->reported_empty) return;
              raw->reported_empty = true;
              on_empty_(raw->owner);
            },
            error)) {
      return false;
    }
    leaves_[index] = std::move(leaf);
    write(*leaves_[index], limits, nullptr);
  } else {
    Leaf& leaf = *leaves_[index];
    if (limits.wants_cpu() && !leaf.leaf.v1_dir("cpu") && cgroups_.tree->v1_base("cpu")) {
      cgroups_.tree->add_v1(leaf.leaf, "cpu", error);
    }
    if (leaf.written != limits) write(leaf, limits, &leaf.written);
  }
  prepared_ = index;
  if (!fds->open(leaves_[index]->leaf, limits, error)) return false;
  leaves_[index]->join_after_spawn = fds->deferred();
  return true;
}

void ServiceCgroup::bind(pid_t owner) {
  if (prepared_ < 0 || !leaves_[prepared_]) return;
  Leaf& leaf = *leaves_[prepared_];
  leaf.owner = owner;
  leaf.reported_empty = false;
  leaf.oom_base = read_oom_kills(leaf.leaf).value_or(0);
  leaf.watch.populated(/*refresh=*/true);
  current_ = prepared_;
  prepared_ = -1;
  if (leaf.join_after_spawn.empty()) return;
  join_v1_after_spawn(loop_, leaf.leaf.dir, std::move(leaf.join_after_spawn),
                      [service = service_](const std::string& error) {
                        if (!error.empty()) spdlog::warn("{}: {}", service, error);
                      });
  leaf.join_after_spawn.clear();
}

bool ServiceCgroup::adopt(const ResourcesConfig& resources, pid_t owner, bool swap_leaf, std::string* error) {
  current_ = swap_leaf ? 1 : 0;
  CgroupJoinFds unused;
  if (!prepare(resources, 0, &unused, error)) {
    current_ = -1;
    return false;
  }
  leaves_[prepared_]->join_after_spawn.clear();  // a previous superd's spawn joined them
  bind(owner);
  return true;
}

bool ServiceCgroup::populated(pid_t owner) {
  Leaf* leaf = find(owner);
  return leaf && leaf->watch.populated(/*refresh=*/true);
}

bool ServiceCgroup::signal(pid_t owner, int signo) {
  Leaf* leaf = find(owner);
  if (!leaf) return false;
  if (signo == SIGKILL) {
    leaf->killed = true;
    std::string error;
    if (!kill_cgroup(leaf->leaf.dir, &error)) spdlog::warn("{}: {}", service_, error);
  } else {
    signal_cgroup(leaf->leaf.dir, signo);
  }
  return true;
}

std::string ServiceCgroup::oom_cause(pid_t owner, const ExitStatus& status, const ResourcesConfig& resources) {
  Leaf* leaf = find(owner);
  if (!leaf) return "";
  const uint64_t now = read_oom_kills(leaf->leaf).value_or(0);
  if (now <= leaf->oom_base) return "";
  const uint64_t kills = now - leaf->oom_base;
  leaf->oom_base = now;
  const std::string limit =
      resources.memory_max ? " (memory_max " + format_size(*resources.memory_max) + ")" : "";
  if (status.signaled && status.code == SIGKILL) return "killed by the OOM killer" + limit;
  return status.describe() + " after the OOM killer killed " + std::to_string(kills) +
         (kills == 1 ? " process" : " processes") + " of it" + limit;
}

void ServiceCgroup::reconfigure(const ResourcesConfig& before, const ResourcesConfig& now) {
  if (before == now) return;
  const CgroupLimits limits = limits_of(now);
  for (auto& l : leaves_) {
    if (!l) continue;
    if (limits.wants_cpu() && !l->leaf.v1_dir("cpu") && cgroups_.tree->v1_base("cpu")) {
      std::string error;
      if (!cgroups_.tree->add_v1(l->leaf, "cpu", &error)) spdlog::warn("{}: {}", service_, error);
    }
    write(*l, limits, &l->written);
  }
  spdlog::info("{}: resources applied to its cgroup without a restart", service_);
}

void ServiceCgroup::release_idle(bool keep_current) {
  for (int i = 0; i < 2; ++i) {
    auto& l = leaves_[i];
    if (!l || i == prepared_ || (keep_current && i == current_)) continue;
    if (l->watch.populated(/*refresh=*/true)) continue;
    l->watch.stop();
    std::string error;
    if (!cgroups_.tree->remove_leaf(l->leaf, &error)) {
      spdlog::warn("{}: {}", service_, error);
      continue;
    }
    l.reset();
    if (current_ == i) current_ = -1;
  }
}

const CgroupLeaf* ServiceCgroup::current() const {
  return current_ >= 0 && leaves_[current_] ? &leaves_[current_]->leaf : nullptr;
}

CgroupUsage ServiceCgroup::usage() const {
  const CgroupLeaf* leaf = current();
  return leaf ? read_cgroup_usage(*leaf) : CgroupUsage{};
}

}  // namespace superd
