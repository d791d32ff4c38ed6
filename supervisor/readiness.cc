#include "supervisor/readiness.h"

#include <signal.h>
#include <sys/stat.h>

#include <cstdlib>
#include <limits>
#include <sstream>

#include <spdlog/spdlog.h>

#include "proc/identity.h"
#include "supervisor/spawn_spec_of.h"

namespace superd {

void Readiness::open_notify(Slot& slot, UniqueFd inherited) {
  const ServiceConfig& c = slot.service->config();
  if (c.ready.kind != Check::Kind::notify) {
    slot.notify.reset();
    return;
  }
  if (slot.notify) return;
  // Created (root's, 0755) or checked like every directory superd puts files in: a
  // squatted or world-writable notify directory is refused, never used.
  auto dir = open_safe_dir(notify_dir_, trust_, Missing::create, 0755);
  if (auto* problem = std::get_if<PathProblem>(&dir)) {
    spdlog::error("{}: notify socket: {}", c.name,
                  problem->explain("notify directory", notify_dir_,
                                   "superd makes the services' notify sockets there"));
    return;
  }
  // The socket is the service's group's to write to (0660): its processes send, nobody
  // else does.
  std::string error;
  gid_t group = 0;
  if (auto who = lookup_user(c.user, 0, &error)) group = who->gid;
  if (!c.group.empty()) {
    if (auto gid = lookup_group(c.group, &error)) group = *gid;
  }
  Slot* target = &slot;
  slot.notify = NotifySocket::open(
      loop_, std::get<SafeDir>(dir), c.name, group,
      [this, target](pid_t sender, const std::string& text) { on_notify(*target, sender, text); },
      &error, std::move(inherited));
  if (!slot.notify) spdlog::error("{}: notify socket: {}", c.name, error);
}

void Readiness::on_notify(Slot& slot, pid_t sender, const std::string& text) {
  Service& service = *slot.service;
  // Only the service's own processes speak for it: they share the session its main
  // process opened.
  const pid_t session = service.pgid();
  if (sender <= 0 || session == 0 || session_of(sender) != session) {
    if (!slot.notify) return;
    if (auto held_back = slot.notify->foreign_warning_due()) {
      spdlog::warn("{}: notify message from pid {} ignored: not a process of this service{}",
                   service.name(), sender,
                   *held_back ? " (and " + std::to_string(*held_back) + " more since the last warning)" : "");
    }
    return;
  }
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    if (line == "READY=1") {
      spdlog::debug("{}: READY=1 from pid {}", service.name(), sender);
      service.on_ready();
    } else if (line.rfind("STATUS=", 0) == 0) {
      slot.status_text = line.substr(7);
    } else if (line.rfind("MAINPID=", 0) == 0) {
      const std::string value = line.substr(8);
      char* end = nullptr;
      const long pid = std::strtol(value.c_str(), &end, 10);
      if (value.empty() || *end != '\0' || pid <= 1 || pid > std::numeric_limits<pid_t>::max()) {
        spdlog::warn("{}: {} from pid {} ignored: not a pid", service.name(), line, sender);
      } else if (main_pid_) {
        main_pid_(slot, sender, static_cast<pid_t>(pid));
      }
    }
  }
}

void Readiness::begin(Slot& slot) {
  Service& service = *slot.service;
  const Check& check = service.config().ready;
  switch (check.kind) {
    case Check::Kind::started:
    case Check::Kind::notify:
      break;  // the start_seconds timer, or READY=1 on the notify socket
    case Check::Kind::log:
      watch_log(slot);
      break;
    case Check::Kind::tcp:
    case Check::Kind::http:
    case Check::Kind::exec: {
      Slot* target = &slot;
      slot.ready_runner = std::make_shared<CheckRunner>(
          loop_, check,
          [this, target](const std::vector<std::string>& argv, Duration timeout, ProbeDone done) {
            launch_exec_probe(*target, argv, timeout, std::move(done));
          },
          [target](bool ok, const std::string& detail) {
            if (ok) {
              target->service->on_ready();
            } else {
              target->status_text = "ready check: " + detail;
            }
          });
      slot.ready_runner->start(true);
      break;
    }
  }
}

void Readiness::watch_log(Slot& slot) {
  Service* target = slot.service;
  // libstdc++'s regex recurses per character: a long line would overflow superd's
  // stack. Readiness lines are short; only the first 2 KiB of a line is matched. The
  // pattern was compiled when the config was loaded; the copy shares it.
  auto listener = [pattern = target->config().ready.log, target](std::string_view line, std::string_view) {
    line = line.substr(0, 2048);
    if (pattern.search(line)) target->on_ready();
  };
  for (OutputPipe* pipe : {slot.out.get(), slot.err.get()}) {
    if (pipe) slot.log_watch.emplace_back(pipe, pipe->add_listener(listener));
  }
}

void Readiness::end(Slot& slot) {
  if (slot.ready_runner) slot.ready_runner->stop();
  for (auto [pipe, id] : slot.log_watch) {
    if (pipe == slot.out.get() || pipe == slot.err.get()) pipe->remove_listener(id);
  }
  slot.log_watch.clear();
}

void Readiness::start_health(Slot& slot) {
  const auto& health = slot.service->config().health;
  if (!health || slot.health_runner) return;
  slot.health_failures = 0;
  Slot* target = &slot;
  slot.health_runner = std::make_shared<CheckRunner>(
      loop_, *health,
      [this, target](const std::vector<std::string>& argv, Duration timeout, ProbeDone done) {
        launch_exec_probe(*target, argv, timeout, std::move(done));
      },
      [target](bool ok, const std::string& detail) {
        Service& s = *target->service;
        if (ok) {
          target->health_failures = 0;
          return;
        }
        const int limit = s.config().health->failures;
        spdlog::warn("{}: health check failed ({}/{}): {}", s.name(), ++target->health_failures,
                     limit, detail);
        if (target->health_failures >= limit && s.state() == State::running) {
          spdlog::error("{}: {} health checks failed in a row; restarting", s.name(), limit);
          target->health_failures = 0;
          s.restart();
        }
      });
  slot.health_runner->start(false);
}

void Readiness::stop_health(Slot& slot) {
  if (!slot.health_runner) return;
  slot.health_runner->stop();
  slot.health_runner.reset();
}

void Readiness::launch_exec_probe(Slot& slot, const std::vector<std::string>& argv,
                                  Duration timeout, ProbeDone done) {
  // The check runs as the service runs (user, environment, directory), its output in
  // the service's log.
  SpawnSpec spec = spawn_spec_of(slot.service->config());
  spec.command = argv;
  spec.limits.clear();
  spec.stdout_fd = slot.out ? slot.out->write_fd() : -1;
  spec.stderr_fd = slot.err ? slot.err->write_fd() : spec.stdout_fd;
  spec.env_file_trust = trust_;
  auto plan = plan_launch(spec);
  if (auto* failure = std::get_if<SpawnFailure>(&plan)) return done(false, failure->reason);
  auto spawned = spawn_process(std::get<LaunchPlan>(plan));
  if (auto* failure = std::get_if<SpawnFailure>(&spawned)) return done(false, failure->reason);
  const pid_t pid = std::get<Spawned>(spawned).pid;
  ExecProbe probe;
  probe.done = std::move(done);
  probe.deadline = std::make_unique<UvHandle<uv_timer_t>>();
  uv_timer_init(loop_, probe.deadline->get());
  probe.deadline->mark_initialized();
  (*probe.deadline)->data = reinterpret_cast<void*>(static_cast<intptr_t>(pid));
  uv_timer_start(
      probe.deadline->get(),
      [](uv_timer_t* t) {
        // Too slow: the whole group of the check goes; its exit then reports failure.
        if (t->data) ::kill(-static_cast<pid_t>(reinterpret_cast<intptr_t>(t->data)), SIGKILL);
      },
      static_cast<uint64_t>(timeout.count()), 0);
  probes_.emplace(pid, std::move(probe));
}

std::optional<ProbeDone> Readiness::take_probe(pid_t pid) {
  auto it = probes_.find(pid);
  if (it == probes_.end()) return std::nullopt;
  ProbeDone done = std::move(it->second.done);
  probes_.erase(it);
  return done;
}

}  // namespace superd
