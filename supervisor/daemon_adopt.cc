// A superd started by systemd after the previous one crashed, with the fd store's fds
// back: the services it can adopt (adoption.h) become its state, as a re-exec's would.
#include <unistd.h>

#include <spdlog/spdlog.h>

#include "supervisor/adoption.h"
#include "supervisor/daemon.h"
#include "supervisor/fd_store.h"

namespace superd {

void Daemon::adopt_after_crash() {
  if (options_.stored_fds.empty()) return;
  std::string warning;
  const auto records = load_running(state_dir_, config_.supervisor.path_trust(), &warning);
  if (!warning.empty()) spdlog::warn("{}", warning);
  Adoption a = plan_adoption(config_, records, options_.stored_fds, cgroups_, Clock::now());
  for (const auto& [name, fd] : options_.stored_fds) {  // nothing takes it: out of the store
    FdStore::remove(name);
    ::close(fd);
  }
  options_.stored_fds.clear();
  host_.set_handed_listeners(std::move(a.listeners));
  for (const auto& line : a.lines) spdlog::info("{}", line);
  if (a.state.services.empty()) return;
  a.state.adopted = true;
  options_.state = std::move(a.state);
}

bool Daemon::adopted(const std::string& service) const {
  if (!options_.state || !options_.state->adopted) return false;
  for (const auto& s : options_.state->services) {
    if (s.name == service) return true;
  }
  return false;
}

bool Daemon::adopted_leaf(const std::string& leaf) const {
  if (!options_.state || !options_.state->adopted) return false;
  for (const auto& s : options_.state->services) {
    if (leaf == cgroup_leaf_name(s.name, s.swap_leaf)) return true;
  }
  return false;
}

}  // namespace superd
