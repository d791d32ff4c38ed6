// ProcessHost::spawn: a service's SpawnSpec filled in with what its slot holds (output
// pipes, listen sockets, the notify socket, the cgroup leaf), the launch planned and the
// child forked; then the child's records, and a watch on its exec.
#include <spdlog/spdlog.h>

#include "proc/leftovers.h"
#include "supervisor/process_host.h"
#include "supervisor/spawn_spec_of.h"

namespace superd {

std::optional<SpawnFailure> ProcessHost::prepare_io(Slot& slot, const Service& service) {
  if (!slot.out) return SpawnFailure{"no output pipe (see superd's log)", false};
  if (service.old_pgid() != 0) {
    // A start-new-first restart: the new instance writes into pipes of its own (same log
    // files), so a `log` readiness check sees only the new instance's lines.
    std::string error;
    if (!fresh_pipes(slot, &error)) return SpawnFailure{error, true};
  }
  // A log file that cannot be written safely (a symlink, a FIFO, an unsafe directory) is
  // a reason not to start, said in status, rather than output silently dropped.
  for (const OutputPipe* pipe : {slot.out.get(), slot.err.get()}) {
    if (!pipe || !pipe->sink()) continue;  // the console or the journal: no file
    const std::string& path = pipe->sink()->path();
    if (auto problem = LogSink::check(path, trust_)) {
      return SpawnFailure{problem->explain("log file", path, "superd writes root-owned files there"), false};
    }
  }
  open_listeners(slot);  // again, in case an earlier bind failed
  if (!slot.listen_error.empty()) return SpawnFailure{slot.listen_error, false};
  return std::nullopt;
}

SpawnResult ProcessHost::spawn(Service& service) {
  Slot& slot = *slots_.at(&service);
  if (auto failure = prepare_io(slot, service)) return {0, *failure};
  SpawnSpec spec = spawn_spec_of(service.config());
  spec.stdout_fd = slot.out->write_fd();
  spec.stderr_fd = slot.err ? slot.err->write_fd() : slot.out->write_fd();
  for (const auto& fd : slot.listeners) {
    spec.listen_fds.push_back(fd.get());
    spec.listen_fdnames += (spec.listen_fdnames.empty() ? "" : ":") + service.name();
  }
  if (service.config().ready.kind == Check::Kind::notify) {
    readiness_.open_notify(slot);
    if (!slot.notify) return {0, SpawnFailure{"no notify socket (see superd's log)", false}};
    spec.extra_env.emplace_back("NOTIFY_SOCKET", slot.notify->path());
  }
  slot.status_text.clear();
  CgroupJoinFds cgroup_fds;  // open until the child exists
  if (slot.cgroup) {
    std::string error;
    if (!slot.cgroup->prepare(service.config().resources, service.old_pgid(), &cgroup_fds, &error)) {
      return {0, SpawnFailure{error, false}};
    }
    spec.cgroup = cgroup_fds.view();
  }
  spec.env_file_trust = trust_;
  auto plan = plan_launch(spec);
  if (auto* failure = std::get_if<SpawnFailure>(&plan)) return {0, *failure};
  for (const auto& warning : std::get<LaunchPlan>(plan).warnings) {
    spdlog::warn("{}: {}", service.name(), warning);
  }
  auto spawned = spawn_process(std::get<LaunchPlan>(plan));
  if (auto* failure = std::get_if<SpawnFailure>(&spawned)) return {0, *failure};
  auto& child = std::get<Spawned>(spawned);
  adopt_child(slot, service, child);
  return {child.pid, std::nullopt};
}

void ProcessHost::adopt_child(Slot& slot, const Service& service, Spawned& child) {
  slot.exec_watch.reset();  // before its fd goes
  slot.exec_status = std::move(child.exec_status);
  slot.exec_status_pid = child.pid;
  slot.exec_context = std::move(child.context);
  slot.exec_failure.reset();
  by_pid_[child.pid] = &slot;
  set_writer_pid(slot, child.pid);
  if (slot.cgroup) slot.cgroup->bind(child.pid);
  slot.main_start_time = process_start_time(child.pid).value_or(0);
  running_[child.pid] = {service.name(), child.pid, slot.main_start_time};
  records_changed();
  watch_exec(slot);
  store_fds(slot);  // a start-new-first restart gave this instance pipes of its own
}

namespace {

// True once the exec's outcome is known: the program runs (the service hears of it), or
// the child reported why it could not (kept for when the child is reaped).
bool check_exec(Slot& slot) {
  if (!slot.exec_status) return true;
  ExecOutcome outcome = read_exec_outcome(slot.exec_status.get(), slot.exec_context);
  switch (outcome.kind) {
    case ExecOutcome::Kind::pending:
      return false;
    case ExecOutcome::Kind::failed:
      slot.exec_failure = std::move(outcome.failure);
      return true;
    case ExecOutcome::Kind::succeeded:
      slot.service->on_exec_succeeded(slot.exec_status_pid);
      return true;
  }
  return true;
}

}  // namespace

// The program runs once the child's status pipe closes without a report: an event, not
// a wait. Dependents of a `ready = "started"` service start then (Type=exec).
void ProcessHost::watch_exec(Slot& slot) {
  slot.exec_watch = UvHandle<uv_poll_t>();
  if (uv_poll_init(loop_, slot.exec_watch.get(), slot.exec_status.get()) != 0) return;
  slot.exec_watch.mark_initialized();
  slot.exec_watch->data = &slot;
  uv_poll_start(slot.exec_watch.get(), UV_READABLE | UV_DISCONNECT, [](uv_poll_t* h, int, int) {
    auto* slot = static_cast<Slot*>(h->data);
    if (slot && check_exec(*slot)) slot->exec_watch.reset();
  });
}

}  // namespace superd
