// ProcessHost across a re-exec (reexec_state.h): what one superd writes down of each slot
// and how the next one takes the same pipes, sockets, processes and timers up again.
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

#include <spdlog/spdlog.h>

#include "proc/leftovers.h"
#include "supervisor/process_host.h"

namespace superd {

bool ProcessHost::reexec_busy(std::string* why) const {
  for (const auto& [service, slot] : slots_) {
    const Service& s = *slot->service;
    if (s.old_pgid() != 0) {
      *why = s.name() + " is in a start-new-first restart";
      return true;
    }
    if (!slot->old_outputs.empty()) {
      *why = "the previous instance of " + s.name() + " is still writing its last output";
      return true;
    }
    if (slot->exec_watch.initialized() || slot->exec_failure) {
      *why = s.name() + "'s program is being started";
      return true;
    }
  }
  return false;
}

void ProcessHost::quiesce_outputs() {
  for (auto& [service, slot] : slots_) {
    for (OutputPipe* pipe : {slot->out.get(), slot->err.get()}) {
      if (pipe) pipe->quiesce();
    }
  }
}

void ProcessHost::resume_outputs() {
  for (auto& [service, slot] : slots_) {
    for (OutputPipe* pipe : {slot->out.get(), slot->err.get()}) {
      if (pipe) pipe->unquiesce();
    }
  }
}

bool ProcessHost::outputs_idle() const {
  for (const auto& [service, slot] : slots_) {
    for (const OutputPipe* pipe : {slot->out.get(), slot->err.get()}) {
      if (pipe && pipe->sink() && !pipe->sink()->idle()) return false;
    }
  }
  return true;
}

SavedService ProcessHost::save(const Service& service) const {
  const Slot& slot = *slots_.at(&service);
  SavedService out;
  out.name = service.name();
  out.machine = service.snapshot();
  out.start_time = slot.main_start_time;
  if (auto it = running_.find(out.machine.pgid); it != running_.end()) out.session_start_time = it->second.start_time;
  if (uv_is_active(reinterpret_cast<const uv_handle_t*>(slot.timer.get()))) out.deadline = slot.deadline;
  if (slot.out) out.out = {slot.out->read_fd(), slot.out->write_fd(), slot.out->at_line_start()};
  if (slot.err) out.err = {slot.err->read_fd(), slot.err->write_fd(), slot.err->at_line_start()};
  for (const auto& fd : slot.listeners) out.listen_fds.push_back(fd.get());
  if (slot.notify) out.notify_fd = slot.notify->fd();
  out.status_text = slot.status_text;
  out.health_failures = slot.health_failures;
  out.swap_leaf = slot.cgroup && slot.cgroup->current_is_swap();
  return out;
}

const SavedService* ProcessHost::inherited(const std::string& name) const {
  if (!inherited_) return nullptr;
  for (const auto& s : inherited_->services) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

// The same pipes (both ends: new processes of the service write into them too), the same
// listening sockets (their backlog kept: no connection refused) and notify socket.
void ProcessHost::adopt_io(Slot& slot, const SavedService& saved) {
  const ServiceConfig& c = slot.service->config();
  auto adopt = [&](const SavedPipe& p, bool is_stderr) -> std::unique_ptr<OutputPipe> {
    std::string error;
    auto target = target_of(c, is_stderr, &error);
    if (!target || p.read_fd < 0 || p.write_fd < 0) return nullptr;
    auto pipe = OutputPipe::adopt(loop_, std::move(*target), UniqueFd(p.read_fd), UniqueFd(p.write_fd),
                                  p.at_line_start, &error);
    if (!pipe) spdlog::error("{}: {}", c.name, error);
    return pipe;
  };
  slot.out = adopt(saved.out, false);
  if (c.stderr_own_pipe()) slot.err = adopt(saved.err, true);
  if (!slot.out || (c.stderr_own_pipe() && !slot.err)) {
    spdlog::error("{}: its output pipes were not in the state; new ones are made", c.name);
    std::string error;
    if (!open_outputs(slot, &error)) spdlog::error("{}: {}", c.name, error);
  }
  if (saved.listen_fds.size() == c.listen.size()) {
    for (int fd : saved.listen_fds) slot.listeners.emplace_back(fd);
    slot.listen_specs = c.listen;
  } else {
    open_listeners(slot);
  }
  readiness_.open_notify(slot, saved.notify_fd >= 0 ? UniqueFd(saved.notify_fd) : UniqueFd());
}

// The machine as it was, its main process known again (reaped here: it is still superd's
// child, the same pid having exec'd), its cgroup leaf watched, its timer re-armed for
// what was left of it (at once if the deadline passed during the exec), its checks begun
// again from the start.
void ProcessHost::restore(Service& service, const SavedService& saved) {
  Slot& slot = *slots_.at(&service);
  service.restore(saved.machine);
  slot.status_text = saved.status_text;
  slot.health_failures = saved.health_failures;
  const pid_t pid = saved.machine.pid;
  const pid_t pgid = saved.machine.pgid ? saved.machine.pgid : pid;  // MAINPID= may have moved pid
  if (saved.machine.main_alive && pid > 0) {
    by_pid_[pid] = &slot;
    slot.main_start_time = saved.start_time;
    running_[pgid] = {service.name(), pgid, pgid == pid ? saved.start_time : saved.session_start_time};
    set_writer_pid(slot, pid);
    slot.foreign = saved.adopted;
    if (pgid != pid || saved.adopted) {  // perhaps not superd's child: watched by pidfd
      watch_main(slot, pid, UniqueFd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0))));
    }
  }
  if (slot.cgroup && pid > 0 && (saved.machine.main_alive || saved.machine.group_alive)) {
    std::string error;
    if (!slot.cgroup->adopt(service.config().resources, pgid, saved.swap_leaf, &error)) {
      spdlog::warn("{}: {}", service.name(), error);
    }
  }
  if (saved.deadline) {
    const auto left = std::max(Duration(0), std::chrono::duration_cast<Duration>(*saved.deadline - now()));
    arm_timer(service, Timer::current, left);
  }
  if (service.state() == State::starting && saved.machine.main_alive &&
      service.config().ready.kind != Check::Kind::started) {
    readiness_.begin(slot);
  }
  if (service.state() == State::running) readiness_.start_health(slot);
}

void ProcessHost::check_restored() {
  std::vector<std::pair<Slot*, pid_t>> vanished;
  for (const auto& [pid, slot] : by_pid_) {
    const uint64_t recorded = slot->main_start_time;
    const auto started = process_start_time(pid);  // nullopt: gone, or a zombie
    const bool exists = ::kill(pid, 0) == 0 || errno == EPERM;
    if (started ? *started != recorded : !exists) vanished.emplace_back(slot, pid);  // a zombie is reaped soon
  }
  for (auto [slot, pid] : vanished) {
    by_pid_.erase(pid);
    spdlog::warn("{}: pid {} is gone and was not reaped here", slot->service->name(), pid);
    end_main(*slot, pid, ExitStatus{true, SIGKILL}, "ended during the re-exec (exit status unknown)");
  }
  records_changed();  // once for every restored service
}

}  // namespace superd
