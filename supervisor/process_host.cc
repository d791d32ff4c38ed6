#include "supervisor/process_host.h"

#include <signal.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include <spdlog/spdlog.h>

#include "base/values.h"
#include "proc/identity.h"
#include "proc/leftovers.h"
#include "proc/listen.h"
#include "supervisor/spawn_spec_of.h"

namespace superd {
namespace {

bool group_exists(pid_t pgid) { return ::kill(-pgid, 0) == 0 || errno != ESRCH; }

std::string notify_dir_of(const SupervisorConfig& settings) {
  const std::string& sock = settings.socket;
  return sock.substr(0, sock.find_last_of('/')) + "/notify";
}

}  // namespace

ProcessHost::ProcessHost(uv_loop_t* loop, const SupervisorConfig& settings, Events events)
    : loop_(loop), settings_(settings), events_(std::move(events)), readiness_(loop) {
  readiness_.set_notify_dir(notify_dir_of(settings_));
  readiness_.on_main_pid([this](Slot& slot, pid_t sender, pid_t main) { hand_over_main(slot, sender, main); });
  set_path_trust(settings_.path_trust());
}

void ProcessHost::set_path_trust(PathTrust trust) {
  trust_ = std::move(trust);
  readiness_.set_path_trust(trust_);
}

ProcessHost::~ProcessHost() = default;

bool ProcessHost::start(std::string* error, bool reap_at_once) {
  reaper_ = std::make_unique<Reaper>(loop_, [this](const Reaper::Ended& e) { on_reaped(e); });
  return reaper_->start(error, reap_at_once);
}

Slot* ProcessHost::slot(const Service& service) const {
  auto it = slots_.find(&service);
  return it == slots_.end() ? nullptr : it->second.get();
}

void ProcessHost::close_all() {
  // Still reaping (this may run inside the reaper's own callback), but no longer
  // keeping the loop alive.
  if (reaper_) reaper_->unref();
  for (auto& [service, slot] : slots_) slot->close_all();
  readiness_.clear();
  recheck_timer_.reset();
  flush_records();  // the loop may not wait again
  records_prepare_.reset();
}

void ProcessHost::release() {
  close_all();
  reaper_.reset();
}

// ---- definitions ---------------------------------------------------------------

void ProcessHost::attach(Service& service) {
  auto slot = std::make_unique<Slot>();
  slot->service = &service;
  for (UvHandle<uv_timer_t>* t : {&slot->timer, &slot->old_timer}) {
    uv_timer_init(loop_, t->get());
    t->mark_initialized();
    (*t)->data = &service;
  }
  if (const SavedService* saved = inherited(service.name())) {
    adopt_io(*slot, *saved);  // re-exec: the pipes and sockets the previous superd held
  } else {
    std::string error;
    if (!open_outputs(*slot, &error)) spdlog::error("{}: {}", service.name(), error);
    open_listeners(*slot);
    readiness_.open_notify(*slot);
  }
  if (cgroups_ && cgroups_->used()) {
    Slot* raw = slot.get();
    slot->cgroup = std::make_unique<ServiceCgroup>(
        *cgroups_, loop_, service.name(), [this, raw](pid_t owner) { on_cgroup_empty(*raw, owner); });
  }
  store_fds(*slot);
  slots_[&service] = std::move(slot);
}

void ProcessHost::store_fds(const Slot& slot) {
  if (!FdStore::available()) return;
  const std::string& name = slot.service->name();
  FdStore::Named fds;
  if (slot.out) {
    fds.emplace_back(name + ".out.r", slot.out->read_fd());
    fds.emplace_back(name + ".out.w", slot.out->write_fd());
  }
  if (slot.err) {
    fds.emplace_back(name + ".err.r", slot.err->read_fd());
    fds.emplace_back(name + ".err.w", slot.err->write_fd());
  }
  for (size_t k = 0; k < slot.listeners.size(); ++k) {
    fds.emplace_back(name + ".listen." + std::to_string(k), slot.listeners[k].get());
  }
  if (slot.notify) fds.emplace_back(name + ".notify", slot.notify->fd());
  fd_store_.sync(name, fds);
}

void ProcessHost::reconfigure(Service& service, const ServiceConfig& before) {
  Slot& slot = *slots_.at(&service);
  const ServiceConfig& c = service.config();
  if (outputs_differ(before, c)) {
    // The old process keeps writing into its pipes while it stops; they go with it.
    events_.outputs_replaced(service.name());
    slot.retire_outputs(service.pgid());
    std::string error;
    if (!open_outputs(slot, &error)) spdlog::error("reload-config: {}", error);
  }
  open_listeners(slot);  // same `listen`: the same sockets; changed: rebound
  readiness_.open_notify(slot);
  if (slot.cgroup) slot.cgroup->reconfigure(before.resources, c.resources);
  store_fds(slot);
}

void ProcessHost::retiring(Service& service) { events_.retiring(service.name()); }

void ProcessHost::detach(Service& service) {
  auto it = slots_.find(&service);
  if (it == slots_.end()) return;
  for (auto p = by_pid_.begin(); p != by_pid_.end();) {
    p = p->second == it->second.get() ? by_pid_.erase(p) : std::next(p);
  }
  fd_store_.forget(service.name());
  it->second->close_all();
  slots_.erase(it);
}

void ProcessHost::open_listeners(Slot& slot) {
  const ServiceConfig& c = slot.service->config();
  if (slot.listen_specs == c.listen && slot.listen_error.empty()) return;  // keep them
  slot.listeners.clear();
  slot.listen_specs.clear();
  slot.listen_error.clear();
  if (auto handed = handed_listeners_.find(c.name); handed != handed_listeners_.end()) {
    const bool fits = handed->second.size() == c.listen.size();
    for (int fd : handed->second) fits ? (void)slot.listeners.emplace_back(fd) : (void)::close(fd);
    handed_listeners_.erase(handed);
    if (fits) {
      slot.listen_specs = c.listen;
      return;
    }
  }
  // Unix sockets belong to the service's user, so its processes may use them.
  uid_t owner = 0;
  gid_t group = 0;
  if (!c.user.empty()) {
    std::string unknown;
    if (auto who = lookup_user(c.user, 0, &unknown)) {
      owner = who->uid;
      group = who->gid;
    }
  }
  for (const auto& spec : c.listen) {
    auto opened = open_listener(spec, owner, group, trust_);
    if (auto* error = std::get_if<std::string>(&opened)) {
      slot.listeners.clear();
      slot.listen_error = *error;
      spdlog::error("{}: {}", c.name, *error);
      return;
    }
    slot.listeners.push_back(std::move(std::get<UniqueFd>(opened)));
  }
  slot.listen_specs = c.listen;
}

// ---- ServiceHost ---------------------------------------------------------------

TimePoint ProcessHost::now() { return Clock::now(); }

void ProcessHost::signal_process(pid_t pid, int signo) {
  if (pid > 0 && ::kill(pid, signo) < 0 && errno != ESRCH) {
    spdlog::warn("kill({}, {}): {}", pid, signal_name(signo), std::strerror(errno));
  }
}

void ProcessHost::signal_group(pid_t pgid, int signo) {
  // With cgroups the instance is its leaf: a process that left the group (double fork,
  // setsid) is still reached, and KILL is one write of cgroup.kill.
  for (auto& [service, slot] : slots_) {
    if (slot->cgroup && slot->cgroup->signal(pgid, signo)) return;
  }
  if (pgid > 1 && ::kill(-pgid, signo) < 0 && errno != ESRCH) {
    spdlog::warn("kill(-{}, {}): {}", pgid, signal_name(signo), std::strerror(errno));
  }
}

void ProcessHost::arm_timer(Service& service, Timer which, Duration after) {
  Slot& slot = *slots_.at(&service);
  // The loop's cached time may be behind by the work done since it woke; durations
  // are promises to the service (start_seconds, stop_timeout), so measure from now.
  uv_update_time(loop_);
  auto on_current = [](uv_timer_t* t) {
    if (t->data) static_cast<Service*>(t->data)->on_timer(Timer::current);
  };
  auto on_old = [](uv_timer_t* t) {
    if (t->data) static_cast<Service*>(t->data)->on_timer(Timer::old);
  };
  if (which == Timer::current) {
    slot.deadline = now() + after;
    uv_timer_start(slot.timer.get(), on_current, static_cast<uint64_t>(after.count()), 0);
  } else {
    uv_timer_start(slot.old_timer.get(), on_old, static_cast<uint64_t>(after.count()), 0);
  }
}

void ProcessHost::cancel_timer(Service& service, Timer which) {
  Slot& slot = *slots_.at(&service);
  uv_timer_stop(which == Timer::current ? slot.timer.get() : slot.old_timer.get());
}

void ProcessHost::state_changed(Service& service, State from, const std::string& reason) {
  const State to = service.state();
  if (from == to) {
    spdlog::info("{}: {} ({})", service.name(), state_name(to), reason);
  } else if (to == State::fatal || to == State::backoff) {
    spdlog::warn("{}: {} -> {} ({})", service.name(), state_name(from), state_name(to), reason);
  } else {
    spdlog::info("{}: {} -> {} ({})", service.name(), state_name(from), state_name(to), reason);
  }
  Slot& slot = *slots_.at(&service);
  if (to == State::running && from != State::running) readiness_.start_health(slot);
  if (to != State::running) readiness_.stop_health(slot);
  if (to == State::fatal && from != State::fatal && service.config().critical &&
      events_.critical_failed) {
    events_.critical_failed(service);
  }
  release_leaves(slot);
}

void ProcessHost::release_leaves(Slot& slot) {
  if (!slot.cgroup) return;
  const State s = slot.service->state();
  const bool settled_down = s == State::stopped || s == State::fatal || s == State::exited;
  slot.cgroup->release_idle(/*keep_current=*/!settled_down || slot.service->has_processes());
}

bool ProcessHost::gone(Slot& slot, pid_t owner) {
  if (slot.cgroup) return !slot.cgroup->populated(owner);
  return slot.foreign ? !session_alive(owner) : !group_exists(owner);
}

void ProcessHost::on_cgroup_empty(Slot& slot, pid_t owner) {
  // Before the main process is reaped this is a no-op for the machine; the reap then
  // finds the leaf empty.
  slot.service->on_group_empty(owner);
  check_groups();
  release_leaves(slot);
  if (supervisor_) supervisor_->collect_retired();
}

void ProcessHost::begin_ready_check(Service& service) { readiness_.begin(*slots_.at(&service)); }

void ProcessHost::end_ready_check(Service& service) { readiness_.end(*slots_.at(&service)); }

void ProcessHost::changed() { events_.changed(); }

void ProcessHost::all_stopped() { events_.all_stopped(); }

// ---- reaping -------------------------------------------------------------------

void ProcessHost::on_reaped(const Reaper::Ended& ended) {
  // Map every pid to its service before acting on any (acting may fork and reuse a pid).
  struct MainExit {
    Slot* slot;
    pid_t pid;
    int wstatus;
  };
  std::vector<MainExit> mains;
  std::vector<std::pair<ProbeDone, int>> probes;
  std::vector<std::pair<std::function<void(int)>, int>> helper_exits;
  for (auto [pid, wstatus] : ended) {
    if (auto done = readiness_.take_probe(pid)) {
      probes.emplace_back(std::move(*done), wstatus);
      continue;
    }
    if (auto helper = helpers_.find(pid); helper != helpers_.end()) {
      helper_exits.emplace_back(std::move(helper->second), wstatus);
      helpers_.erase(helper);
      continue;
    }
    auto it = by_pid_.find(pid);
    if (it == by_pid_.end()) continue;  // an orphan or a worker of a group: just reaped
    mains.push_back({it->second, pid, wstatus});
    by_pid_.erase(it);
  }
  for (auto [slot, pid, wstatus] : mains) end_main(*slot, pid, ExitStatus::from_wait_status(wstatus));
  if (!mains.empty()) records_changed();
  for (auto& [done, wstatus] : probes) {
    ExitStatus status = ExitStatus::from_wait_status(wstatus);
    done(status.clean(), "check " + status.describe());
  }
  for (auto& [done, wstatus] : helper_exits) done(wstatus);
  check_groups();
  if (supervisor_) supervisor_->collect_retired();
  if (events_.reaped) events_.reaped();
}

// Main process `pid` of `slot` ended (reaped, or seen gone through its pidfd). The
// instance's record goes with it: running.json names the process group it started, whose
// id is the main pid unless MAINPID= moved it. `cause`: how it ended when the wait status
// is not known; otherwise the OOM killer, or the status itself.
void ProcessHost::end_main(Slot& slot, pid_t pid, const ExitStatus& status, std::string cause) {
  Service& service = *slot.service;
  const bool current = service.pid() == pid;
  pid_t owner = current ? service.pgid() : service.old_pid() == pid ? service.old_pgid() : 0;
  if (owner == 0) owner = pid;
  running_.erase(owner);
  if (cause.empty() && slot.cgroup) cause = slot.cgroup->oom_cause(owner, status, service.config().resources);
  slot.main_watches.erase(pid);
  std::optional<SpawnFailure> exec_failure;
  if (slot.exec_status && slot.exec_status_pid == pid) {
    slot.exec_watch.reset();
    if (!slot.exec_failure) {
      ExecOutcome last = read_exec_outcome(slot.exec_status.get(), slot.exec_context);
      if (last.kind == ExecOutcome::Kind::failed) slot.exec_failure = std::move(last.failure);
    }
    exec_failure = std::exchange(slot.exec_failure, std::nullopt);
    slot.exec_status.reset();
  }
  service.on_exit(pid, status, gone(slot, owner), exec_failure, cause);
}

// Groups whose main process has ended: are their leftovers all gone now?
void ProcessHost::check_groups() {
  bool recheck = false;
  for (auto& [service, slot_ptr] : slots_) {
    Slot& slot = *slot_ptr;
    Service& s = *slot.service;
    if (s.pid() == 0 && s.pgid() != 0 && gone(slot, s.pgid())) s.on_group_empty(s.pgid());
    if (s.old_pid() == 0 && s.old_pgid() != 0 && gone(slot, s.old_pgid())) {
      s.on_group_empty(s.old_pgid());
    }
    // Nothing reaps an adopted group's last processes here, and without a cgroup
    // nothing says when they are gone: looked at again shortly.
    if (slot.foreign && !slot.cgroup && s.pid() == 0 && s.pgid() != 0) recheck = true;
    std::erase_if(slot.old_outputs, [&s](auto& entry) {
      if (entry.first != 0 && (entry.first == s.pgid() || entry.first == s.old_pgid())) {
        return false;
      }
      entry.second->drain();  // what the last writers left in the pipe
      return true;
    });
  }
  if (recheck) arm_recheck();
}

void ProcessHost::arm_recheck() {
  if (!recheck_timer_.initialized()) {
    uv_timer_init(loop_, recheck_timer_.get());
    recheck_timer_.mark_initialized();
  }
  recheck_timer_->data = this;
  uv_timer_start(recheck_timer_.get(), [](uv_timer_t* t) {
    auto* self = static_cast<ProcessHost*>(t->data);
    if (!self) return;
    self->check_groups();
    if (self->supervisor_) self->supervisor_->collect_retired();
  }, 100, 0);
}

}  // namespace superd
