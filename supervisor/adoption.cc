#include "supervisor/adoption.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>

#include <systemd/sd-daemon.h>

#include "proc/cgroup_kill.h"
#include "proc/leftovers.h"

namespace superd {
namespace {

// Takes `name` out of `fds`; -1 when it is not there.
int take(std::map<std::string, int>& fds, const std::string& name) {
  auto it = fds.find(name);
  if (it == fds.end()) return -1;
  const int fd = it->second;
  fds.erase(it);
  return fd;
}

// Which leaf of `service` holds `pid`: 0 NAME/, 1 NAME~swap/, -1 neither.
int leaf_holding(const Cgroups& cgroups, const std::string& service, pid_t pid) {
  for (const auto& leaf : cgroups.tree->existing_leaves()) {
    const bool plain = leaf.name == cgroup_leaf_name(service);
    if (!plain && leaf.name != cgroup_leaf_name(service, true)) continue;
    std::string ignored;
    const auto pids = cgroup_pids(leaf.dir, &ignored);
    if (pids && std::find(pids->begin(), pids->end(), pid) != pids->end()) return plain ? 0 : 1;
  }
  return -1;
}

// The fds `c` needs, all of them into `out`, or why not (and `fds` as it was).
std::string take_fds(const ServiceConfig& c, std::map<std::string, int>& fds, SavedService& out) {
  std::vector<std::string> missing;
  std::vector<std::pair<std::string, int>> taken;
  auto need = [&](const std::string& what) {
    const int fd = take(fds, c.name + "." + what);
    if (fd < 0) missing.push_back(what);
    else taken.emplace_back(c.name + "." + what, fd);
    return fd;
  };
  out.out = {need("out.r"), need("out.w"), true};
  if (c.stderr_own_pipe()) out.err = {need("err.r"), need("err.w"), true};
  for (size_t k = 0; k < c.listen.size(); ++k) out.listen_fds.push_back(need("listen." + std::to_string(k)));
  if (c.ready.kind == Check::Kind::notify) out.notify_fd = need("notify");
  if (missing.empty()) return "";
  for (auto& [name, fd] : taken) fds.emplace(std::move(name), fd);  // nothing taken: the caller closes them all
  std::string why = "the fd store did not give back";
  for (const auto& m : missing) why += " " + c.name + "." + m;
  return why;
}

}  // namespace

Adoption plan_adoption(const Config& config, const std::vector<RunningRecord>& records,
                       std::map<std::string, int>& fds, const Cgroups& cgroups, TimePoint now) {
  Adoption a;
  const ServiceIndex services(config.services);
  for (const auto& rec : records) {
    const ServiceConfig* c = services.find(rec.service);
    std::string why;
    int leaf = 0;
    if (!c) {
      why = "not in the config";
    } else if (find_leftover(rec.pid, rec.start_time) != LeftoverKind::running) {
      why = "its main process pid " + std::to_string(rec.pid) + " is gone";
    } else if (cgroups.used() && (leaf = leaf_holding(cgroups, rec.service, rec.pid)) < 0) {
      why = "pid " + std::to_string(rec.pid) + " is not in its cgroup";
    }
    SavedService s;
    if (why.empty()) why = take_fds(*c, fds, s);
    if (!why.empty()) {
      a.not_adopted.push_back(rec);
      a.lines.push_back(rec.service + ": not adopted: " + why);
      continue;
    }
    s.name = rec.service;
    s.machine.state = State::running;
    s.machine.want_up = true;
    s.machine.since = now;
    s.machine.reason = "adopted after a crash of superd (pid " + std::to_string(rec.pid) + ")";
    s.machine.pid = s.machine.pgid = rec.pid;
    s.machine.main_alive = s.machine.group_alive = s.machine.exec_ok = true;
    s.machine.spawned_at = now;
    s.machine.was_running = s.machine.launched_before = true;
    s.start_time = s.session_start_time = rec.start_time;
    s.swap_leaf = leaf == 1;
    s.adopted = true;
    a.lines.push_back(rec.service + ": adopted pid " + std::to_string(rec.pid));
    a.state.services.push_back(std::move(s));
  }
  for (const auto& c : config.services) {
    std::vector<int> listen;
    for (size_t k = 0; k < c.listen.size(); ++k) {
      auto it = fds.find(c.name + ".listen." + std::to_string(k));
      if (it != fds.end()) listen.push_back(it->second);
    }
    if (listen.empty() || listen.size() != c.listen.size()) continue;
    for (size_t k = 0; k < c.listen.size(); ++k) fds.erase(c.name + ".listen." + std::to_string(k));
    a.listeners[c.name] = std::move(listen);
  }
  return a;
}

std::map<std::string, int> take_stored_fds() {
  std::map<std::string, int> out;
  char** names = nullptr;
  const int n = sd_listen_fds_with_names(/*unset_environment=*/1, &names);
  for (int i = 0; i < n; ++i) {
    const int fd = SD_LISTEN_FDS_START + i;
    ::fcntl(fd, F_SETFD, FD_CLOEXEC);
    const std::string name = names && names[i] ? names[i] : "";
    if (name.empty() || name == "unknown" || out.count(name)) {
      ::close(fd);  // nothing of superd's: it names every fd it stores, once
    } else {
      out[name] = fd;
    }
  }
  if (names) {
    for (int i = 0; i < n; ++i) std::free(names[i]);
    std::free(names);
  }
  return out;
}

}  // namespace superd
