#include "supervisor/daemon.h"

#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <spdlog/spdlog.h>

#include "supervisor/units.h"
#include "version.h"

namespace superd {
namespace {

// mkdir -p with a mode for the directories it creates.
bool make_dirs(const std::string& path, mode_t mode, std::string* error) {
  std::string partial;
  size_t pos = 0;
  while (pos != std::string::npos) {
    pos = path.find('/', pos + 1);
    partial = path.substr(0, pos);
    if (partial.empty()) continue;
    if (::mkdir(partial.c_str(), mode) < 0 && errno != EEXIST) {
      *error = "creating " + partial + ": " + std::strerror(errno);
      return false;
    }
  }
  struct stat st {};
  if (::stat(path.c_str(), &st) < 0 || !S_ISDIR(st.st_mode)) {
    *error = path + " is not a directory";
    return false;
  }
  return true;
}

bool group_exists(pid_t pgid) { return ::kill(-pgid, 0) == 0 || errno != ESRCH; }

}  // namespace

Daemon::Daemon(Config config)
    : config_(std::move(config)),
      enable_store_(config_.supervisor.state_dir + "/enabled.json") {
  uv_loop_init(&loop_);
}

Daemon::~Daemon() {
  // Closing the watchers restores the default dispositions; a late TERM must then wait
  // (blocked) rather than turn a clean exit into death by signal.
  sigset_t late;
  sigemptyset(&late);
  for (int sig : {SIGTERM, SIGINT, SIGHUP}) sigaddset(&late, sig);
  pthread_sigmask(SIG_BLOCK, &late, nullptr);
  slots_.clear();
  retired_.clear();
  reaper_.reset();
  server_.reset();
  sigterm_.reset();
  sigint_.reset();
  sighup_.reset();
  // Let close callbacks (and any log write still queued) run before the loop goes.
  uv_run(&loop_, UV_RUN_DEFAULT);
  uv_loop_close(&loop_);
}

TimePoint Daemon::now() { return Clock::now(); }

// ---- start-up ------------------------------------------------------------------

bool Daemon::prepare(std::string* error) {
  const auto& sup = config_.supervisor;
  if (!make_dirs(sup.state_dir, 0755, error) || !make_dirs(sup.log_dir, 0750, error)) return false;

  // One superd per state_dir: two would fight over the same services and files.
  const std::string lock_path = sup.state_dir + "/superd.lock";
  lock_fd_.reset(::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644));
  if (!lock_fd_) {
    *error = lock_path + ": " + std::strerror(errno);
    return false;
  }
  if (::flock(lock_fd_.get(), LOCK_EX | LOCK_NB) < 0) {
    char pid[32] = {};
    [[maybe_unused]] ssize_t n = ::pread(lock_fd_.get(), pid, sizeof pid - 1, 0);
    pid[std::strcspn(pid, "\n")] = '\0';
    *error = "another superd (pid " + std::string(pid[0] ? pid : "?") +
             ") is running with state_dir " + sup.state_dir;
    return false;
  }
  std::string mypid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(lock_fd_.get(), 0) == 0) {
    [[maybe_unused]] ssize_t n = ::pwrite(lock_fd_.get(), mypid.data(), mypid.size(), 0);
  }

  std::string store_error;
  if (!enable_store_.load(&store_error)) spdlog::warn("{}", store_error);
  stop_leftovers_of_previous_run();

  std::string reaper_error;
  reaper_ = std::make_unique<Reaper>(&loop_, [this](const Reaper::Ended& e) { on_reaped(e); });
  if (!reaper_->start(&reaper_error)) {
    *error = reaper_error;
    return false;
  }
  if (!setup_signals(error)) return false;

  ipc::ServerOptions options;
  options.path = sup.socket;
  if (!sup.socket_group.empty()) {
    if (group* gr = ::getgrnam(sup.socket_group.c_str())) {
      options.group = gr->gr_gid;
    } else {
      *error = "socket_group '" + sup.socket_group + "' does not exist";
      return false;
    }
  }
  server_ = std::make_unique<ipc::Server>(
      &loop_, options,
      [this](const std::shared_ptr<ipc::Connection>& c, ipc::Request r) {
        handle_request(c, std::move(r));
      });
  if (auto failure = server_->listen()) {
    *error = *failure;
    return false;
  }
  // After the server: notify sockets live in the control socket's directory.
  for (const auto& sc : config_.services) {
    auto slot = make_slot(sc, error);
    if (!slot) return false;
    slots_.emplace(sc.name, std::move(slot));
  }

  return true;
}

bool Daemon::setup_signals(std::string* error) {
  // A client that vanishes mid-reply must not kill superd.
  ::signal(SIGPIPE, SIG_IGN);
  struct Watch {
    UvHandle<uv_signal_t>* handle;
    int signo;
  };
  for (Watch w : {Watch{&sigterm_, SIGTERM}, Watch{&sigint_, SIGINT}, Watch{&sighup_, SIGHUP}}) {
    if (int rc = uv_signal_init(&loop_, w.handle->get()); rc != 0) {
      *error = std::string("uv_signal_init: ") + uv_strerror(rc);
      return false;
    }
    w.handle->mark_initialized();
    (*w.handle)->data = this;
    uv_signal_start(
        w.handle->get(),
        [](uv_signal_t* h, int signo) {
          auto* self = static_cast<Daemon*>(h->data);
          if (!self) return;
          if (signo == SIGHUP) {
            nlohmann::json reply = self->reload_config();
            if (!reply.value("ok", false)) {
              spdlog::error("reload-config (SIGHUP) refused: {}",
                            reply["error"].value("message", ""));
            }
          } else {
            self->begin_shutdown(std::string("received SIG") + sigabbrev_np(signo));
          }
        },
        w.signo);
    // Signals alone must not keep the loop alive once everything else is done.
    uv_unref(w.handle->raw());
  }
  return true;
}

std::unique_ptr<Daemon::Slot> Daemon::make_slot(const ServiceConfig& config, std::string* error) {
  auto slot = std::make_unique<Slot>();
  slot->service = std::make_unique<Service>(config, *this);
  by_service_[slot->service.get()] = slot.get();
  if (int rc = uv_timer_init(&loop_, slot->timer.get()); rc != 0) {
    *error = std::string("uv_timer_init: ") + uv_strerror(rc);
    return nullptr;
  }
  slot->timer.mark_initialized();
  slot->timer->data = slot->service.get();
  uv_timer_init(&loop_, slot->old_timer.get());
  slot->old_timer.mark_initialized();
  slot->old_timer->data = slot->service.get();
  if (!open_outputs(*slot, error)) return nullptr;
  open_listeners(*slot);
  open_notify(*slot);
  return slot;
}

bool Daemon::open_outputs(Slot& slot, std::string* error) {
  const ServiceConfig& c = slot.service->config();
  auto make = [&](const std::string& path) -> std::unique_ptr<OutputPipe> {
    std::string dir = path.substr(0, path.find_last_of('/'));
    if (!dir.empty() && !make_dirs(dir, 0750, error)) return nullptr;
    auto sink = LogSink::create(&loop_, {path, c.log_max_bytes, c.log_backups});
    std::string pipe_error;
    auto pipe = OutputPipe::open(&loop_, sink, &pipe_error);
    if (!pipe) *error = c.name + ": " + pipe_error;
    return pipe;
  };
  slot.out = make(c.stdout_path);
  if (!slot.out) return false;
  slot.err.reset();
  if (c.stderr_path != c.stdout_path) {
    slot.err = make(c.stderr_path);
    if (!slot.err) return false;
  }
  return true;
}

void Daemon::Slot::retire_outputs(pid_t owner) {
  if (out) old_outputs.emplace_back(owner, std::move(out));
  if (err) old_outputs.emplace_back(owner, std::move(err));
}

bool Daemon::fresh_pipes(Slot& slot, std::string* error) {
  auto renew = [&](std::unique_ptr<OutputPipe>& pipe) {
    if (!pipe) return true;
    auto fresh = OutputPipe::open(&loop_, pipe->sink(), error);
    if (!fresh) return false;
    pipe->move_listeners_to(*fresh);  // `log -f` clients follow the new instance
    slot.old_outputs.emplace_back(slot.service->old_pgid(), std::move(pipe));
    pipe = std::move(fresh);
    return true;
  };
  return renew(slot.out) && renew(slot.err);
}

// `superctl enable/disable` outlives the config's `enabled`.
bool Daemon::effective_enabled(const ServiceConfig& service) const {
  if (auto saved = enable_store_.get(service.name)) return *saved;
  return service.enabled;
}

int Daemon::run() {
  std::string error;
  if (!prepare(&error)) {
    spdlog::critical("{}", error);
    return 1;
  }
  spdlog::info("superd {} supervising {} services, socket {}", SUPERD_VERSION,
               slots_.size(), config_.supervisor.socket);
  start_order_ = config_.start_order();
  for (const auto& name : start_order_) {
    if (effective_enabled(slots_.at(name)->service->config())) pending_start_.insert(name);
  }
  schedule();
  update_notify();
  uv_run(&loop_, UV_RUN_DEFAULT);
  return exit_code_;
}

// ---- ordering ------------------------------------------------------------------

// A dependency has "started" once it has left starting (SPEC: start order follows
// `after`; a dependency that failed does not hold its dependents back forever).
bool Daemon::deps_started(const Service& service) const {
  for (const auto& dep : service.config().after) {
    if (pending_start_.count(dep)) return false;
    auto it = slots_.find(dep);
    if (it == slots_.end()) continue;
    State s = it->second->service->state();
    if (s == State::starting || s == State::backoff) return false;
  }
  return true;
}

bool Daemon::dependents_down(const std::string& name) const {
  for (const auto& [other, slot] : slots_) {
    const auto& after = slot->service->config().after;
    if (std::find(after.begin(), after.end(), name) != after.end() &&
        (slot->service->has_processes() || slot->service->state() == State::backoff)) {
      return false;
    }
  }
  return true;
}

void Daemon::schedule() {
  // Transitions made here report back through state_changed(), which schedules again:
  // run the passes one after another instead of nested.
  if (scheduling_) {
    reschedule_ = true;
    return;
  }
  scheduling_ = true;
  do {
    reschedule_ = false;
    schedule_pass();
  } while (reschedule_);
  scheduling_ = false;
}

void Daemon::schedule_pass() {
  if (shutting_down_) {
    for (auto& [name, slot] : slots_) {
      Service& s = *slot->service;
      if ((s.want_up() || s.has_processes()) && dependents_down(name)) s.stop();
    }
    for (auto& [name, slot] : slots_) {
      if (slot->service->has_processes()) return;
    }
    for (auto& slot : retired_) {
      if (slot->service->has_processes()) return;
    }
    finish_shutdown();
    return;
  }
  // Start whatever waits and whose dependencies have started; repeat since a start may
  // settle at once (start_seconds = 0) and release another.
  std::vector<std::string> ready;
  for (const auto& name : pending_start_) {
    if (deps_started(*slots_.at(name)->service)) ready.push_back(name);
  }
  for (const auto& name : ready) {
    pending_start_.erase(name);
    slots_.at(name)->service->start();
  }
}

// ---- ServiceHost ---------------------------------------------------------------

SpawnResult Daemon::spawn(Service& service) {
  Slot& slot = *by_service_.at(&service);
  if (!slot.out) return {0, SpawnFailure{"no output pipe (see superd's log)", false}};
  if (service.old_pgid() != 0) {
    // A start-new-first restart: the new instance writes into pipes of its own (same log
    // files), so a `log` readiness check sees only the new instance's lines.
    std::string error;
    if (!fresh_pipes(slot, &error)) return {0, SpawnFailure{error, true}};
  }
  open_listeners(slot);  // again, in case an earlier bind failed
  if (!slot.listen_error.empty()) return {0, SpawnFailure{slot.listen_error, false}};
  PlanExtras extras;
  extras.stdout_fd = slot.out->write_fd();
  extras.stderr_fd = slot.err ? slot.err->write_fd() : slot.out->write_fd();
  for (const auto& fd : slot.listeners) {
    extras.listen_fds.push_back(fd.get());
    extras.listen_fdnames += (extras.listen_fdnames.empty() ? "" : ":") + service.name();
  }
  if (service.config().ready.kind == Check::Kind::notify) {
    open_notify(slot);
    if (!slot.notify) return {0, SpawnFailure{"no notify socket (see superd's log)", false}};
    extras.env.emplace_back("NOTIFY_SOCKET", slot.notify->path());
  }
  slot.status_text.clear();
  auto plan = plan_launch(service.config(), std::move(extras));
  if (auto* failure = std::get_if<SpawnFailure>(&plan)) return {0, *failure};
  auto spawned = spawn_process(std::get<LaunchPlan>(plan));
  if (auto* failure = std::get_if<SpawnFailure>(&spawned)) return {0, *failure};
  auto& child = std::get<Spawned>(spawned);
  slot.exec_status = std::move(child.exec_status);
  slot.exec_status_pid = child.pid;
  slot.exec_context = std::move(child.context);
  by_pid_[child.pid] = &slot;
  running_[child.pid] = {service.name(), child.pid, process_start_time(child.pid).value_or(0)};
  save_running_records();
  return {child.pid, std::nullopt};
}

void Daemon::signal_process(pid_t pid, int signo) {
  if (pid > 0 && ::kill(pid, signo) < 0 && errno != ESRCH) {
    spdlog::warn("kill({}, {}): {}", pid, signal_name(signo), std::strerror(errno));
  }
}

void Daemon::signal_group(pid_t pgid, int signo) {
  if (pgid > 1 && ::kill(-pgid, signo) < 0 && errno != ESRCH) {
    spdlog::warn("kill(-{}, {}): {}", pgid, signal_name(signo), std::strerror(errno));
  }
}

void Daemon::arm_timer(Service& service, Duration after) {
  Slot& slot = *by_service_.at(&service);
  // The loop's cached time may be behind by the work done since it woke; durations
  // are promises to the service (start_seconds, stop_timeout), so measure from now.
  uv_update_time(&loop_);
  uv_timer_start(
      slot.timer.get(),
      [](uv_timer_t* t) {
        if (t->data) static_cast<Service*>(t->data)->on_timer();
      },
      static_cast<uint64_t>(after.count()), 0);
}

void Daemon::cancel_timer(Service& service) {
  uv_timer_stop(by_service_.at(&service)->timer.get());
}

void Daemon::arm_old_timer(Service& service, Duration after) {
  Slot& slot = *by_service_.at(&service);
  uv_update_time(&loop_);
  uv_timer_start(
      slot.old_timer.get(),
      [](uv_timer_t* t) {
        if (t->data) static_cast<Service*>(t->data)->on_old_timer();
      },
      static_cast<uint64_t>(after.count()), 0);
}

void Daemon::cancel_old_timer(Service& service) {
  uv_timer_stop(by_service_.at(&service)->old_timer.get());
}

void Daemon::state_changed(Service& service, State from, const std::string& reason) {
  const State to = service.state();
  if (from == to) {
    spdlog::info("{}: {} ({})", service.name(), state_name(to), reason);
  } else if (to == State::fatal || to == State::backoff) {
    spdlog::warn("{}: {} -> {} ({})", service.name(), state_name(from), state_name(to), reason);
  } else {
    spdlog::info("{}: {} -> {} ({})", service.name(), state_name(from), state_name(to), reason);
  }
  Slot& slot = *by_service_.at(&service);
  if (to == State::running && from != State::running) start_health(slot);
  if (to != State::running && slot.health_runner) {
    slot.health_runner->stop();
    slot.health_runner.reset();
  }
  schedule();
  check_waiters();
  update_notify();
}

// ---- events --------------------------------------------------------------------

void Daemon::on_reaped(const Reaper::Ended& ended) {
  // Map every pid to its service before acting on any (acting may fork and reuse a pid).
  struct MainExit {
    Slot* slot;
    pid_t pid;
    int wstatus;
  };
  std::vector<MainExit> mains;
  std::vector<std::pair<ProbeDone, int>> probes;
  for (auto [pid, wstatus] : ended) {
    if (auto p = probes_.find(pid); p != probes_.end()) {
      probes.emplace_back(std::move(p->second.done), wstatus);
      probes_.erase(p);
      continue;
    }
    auto it = by_pid_.find(pid);
    if (it == by_pid_.end()) continue;  // an orphan or a worker of a group: just reaped
    mains.push_back({it->second, pid, wstatus});
    by_pid_.erase(it);
    running_.erase(pid);
  }
  for (auto [slot, pid, wstatus] : mains) {
    Service& service = *slot->service;
    std::optional<SpawnFailure> exec_failure;
    if (slot->exec_status && slot->exec_status_pid == pid) {
      exec_failure = read_exec_report(slot->exec_status.get(), slot->exec_context);
      slot->exec_status.reset();
    }
    service.on_exit(pid, ExitStatus::from_wait_status(wstatus), !group_exists(pid), exec_failure);
  }
  if (!mains.empty()) save_running_records();
  for (auto& [done, wstatus] : probes) {
    ExitStatus status = ExitStatus::from_wait_status(wstatus);
    done(status.clean(), "check " + status.describe());
  }
  check_groups();
}

// Groups whose main process has ended: are their leftovers all gone now?
void Daemon::check_groups() {
  auto check = [](Slot& slot) {
    Service& s = *slot.service;
    if (s.pid() == 0 && s.pgid() != 0 && !group_exists(s.pgid())) s.on_group_empty(s.pgid());
    if (s.old_pid() == 0 && s.old_pgid() != 0 && !group_exists(s.old_pgid())) {
      s.on_group_empty(s.old_pgid());
    }
    std::erase_if(slot.old_outputs, [&s](auto& entry) {
      if (entry.first != 0 && (entry.first == s.pgid() || entry.first == s.old_pgid())) return false;
      entry.second->drain();  // what the last writers left in the pipe
      return true;
    });
  };
  for (auto& [name, slot] : slots_) check(*slot);
  for (auto& slot : retired_) check(*slot);
  // Retired definitions go once nothing of theirs runs.
  std::erase_if(retired_, [this](const std::unique_ptr<Slot>& slot) {
    if (slot->service->has_processes()) return false;
    by_service_.erase(slot->service.get());
    return true;
  });
}

void Daemon::begin_shutdown(const std::string& why) {
  if (shutting_down_) return;
  shutting_down_ = true;
  spdlog::info("shutting down: {}", why);
  sd_notify(0, "STOPPING=1\nSTATUS=stopping services");
  pending_start_.clear();
  schedule();
}

void Daemon::finish_shutdown() {
  if (finished_) return;
  finished_ = true;
  spdlog::info("all services stopped; exiting");
  // Answer whoever waited (e.g. a `stop` or `shutdown` client) before the socket goes.
  check_waiters();
  for (auto& [name, slot] : slots_) {
    slot->out->drain();
    if (slot->err) slot->err->drain();
  }
  server_->close();
  reaper_.reset();
  // The signal watchers stay (unreferenced, they do not keep the loop alive): a TERM
  // arriving now must not kill superd with the default disposition.
  // Every handle must be closed for the loop to end.
  auto close = [](Slot& slot) {
    slot.timer.reset();
    slot.old_timer.reset();
    slot.out.reset();
    slot.err.reset();
    for (auto& [owner, pipe] : slot.old_outputs) pipe->drain();
    slot.old_outputs.clear();
    slot.notify.reset();
    slot.ready_runner.reset();
    slot.health_runner.reset();
    slot.log_watch.clear();
  };
  for (auto& [name, slot] : slots_) close(*slot);
  for (auto& slot : retired_) close(*slot);
  probes_.clear();
  // The loop now ends once pending log writes and close callbacks are done.
}

// A superd killed with -9 (or crashed) left its services running; stop them before
// anything starts, so no service ever runs twice. See proc/leftovers.h for why they are
// stopped rather than re-adopted.
void Daemon::stop_leftovers_of_previous_run() {
  const std::string path = config_.supervisor.state_dir + "/running.json";
  std::vector<Leftover> leftovers;
  std::string problem;
  const auto records = load_running(path, &problem);
  if (!problem.empty()) {
    spdlog::warn("{}; a process it named cannot be stopped: check for leftovers of a "
                 "previous superd",
                 problem);
  }
  for (const auto& rec : records) {
    auto start = process_start_time(rec.pid);
    if (!start || *start != rec.start_time) continue;  // gone, or the pid was reused
    Leftover l{rec, SIGTERM, true, std::chrono::milliseconds(10000)};
    if (const ServiceConfig* c = config_.find(rec.service)) {
      l.stop_signal = c->stop_signal;
      l.signal_group_first = c->stop_mode == StopMode::group;
      l.stop_timeout = c->stop_timeout;
    }
    leftovers.push_back(l);
  }
  if (leftovers.empty()) return;
  spdlog::warn("a previous superd left {} service process groups running; stopping them "
               "before anything starts",
               leftovers.size());
  sd_notify(0, "STATUS=stopping what a previous superd left running");
  for (const auto& line : stop_leftovers(leftovers)) spdlog::warn("{}", line);
  std::string error;
  if (!save_running(path, {}, &error)) spdlog::warn("{}", error);
}

void Daemon::save_running_records() {
  std::vector<RunningRecord> records;
  for (const auto& [pid, rec] : running_) records.push_back(rec);
  std::string error;
  if (!save_running(config_.supervisor.state_dir + "/running.json", records, &error)) {
    spdlog::warn("recording running processes: {}", error);
  }
}

void Daemon::update_notify() {
  int starting = 0, running = 0, failed = 0;
  bool boot_done = pending_start_.empty();
  for (auto& [name, slot] : slots_) {
    State s = slot->service->state();
    if (s == State::starting || s == State::backoff) ++starting;
    if (s == State::running) ++running;
    if (s == State::fatal) ++failed;
  }
  if (starting > 0) boot_done = false;
  std::string status = "STATUS=" + std::to_string(running) + " running, " +
                       std::to_string(starting) + " starting, " + std::to_string(failed) +
                       " fatal";
  if (!ready_sent_ && boot_done && !shutting_down_) {
    ready_sent_ = true;
    spdlog::info("every enabled service has left starting: ready");
    sd_notify(0, ("READY=1\n" + status).c_str());
    last_notify_status_ = status;
    return;
  }
  if (status != last_notify_status_) {
    last_notify_status_ = status;
    sd_notify(0, status.c_str());
  }
}

}  // namespace superd
