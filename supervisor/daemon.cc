#include "supervisor/daemon.h"

#include <grp.h>
#include <signal.h>
#include <systemd/sd-daemon.h>

#include <cstring>

#include <spdlog/spdlog.h>

#include "proc/cgroup_leftovers.h"
#include "proc/leftovers.h"
#include "supervisor/config_load.h"
#include "version.h"

namespace superd {

// The signals superd handles; once their watchers close (the destructor), their default
// disposition kills.
sigset_t handled_signals() {
  sigset_t set;
  sigemptyset(&set);
  for (int sig : {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1}) sigaddset(&set, sig);
  return set;
}

namespace {

// libuv starts its thread pool at the first queued job, and its threads keep the signal
// mask of the thread that queued it. Started here, with the handled signals blocked,
// they never take one: a TERM arriving after the watchers closed waits, blocked in the
// loop's thread, instead of killing superd from a pool thread (the console and the
// journal queue jobs from the first log line on, so the pool is always there).
void start_thread_pool_signals_blocked(uv_loop_t* loop) {
  static uv_work_t warm_up{};
  static bool started = false;
  if (started) return;
  started = true;
  const sigset_t set = handled_signals();
  sigset_t old;
  pthread_sigmask(SIG_BLOCK, &set, &old);
  uv_queue_work(loop, &warm_up, [](uv_work_t*) {}, [](uv_work_t*, int) {});
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
}

}  // namespace

Daemon::Daemon(Config config, DaemonOptions options)
    : config_(std::move(config)),
      options_(std::move(options)),
      scale_store_(config_.supervisor.state_dir + "/instances.json"),
      outputs_(&loop_, config_.supervisor.journal_socket),
      host_(&loop_, config_.supervisor,
            ProcessHost::Events{
                .changed =
                    [this] {
                      control_.check_waiters();
                      update_notify();
                    },
                .all_stopped = [this] { on_all_stopped(); },
                .retiring = [this](const std::string& name) { control_.end_followers(name); },
                .outputs_replaced =
                    [this](const std::string& name) { control_.end_followers(name); },
                .critical_failed = [this](Service& s) { on_critical_failure(s); },
                .reaped =
                    [this] {
                      if (init_) init_->reaped();
                    },
            }),
      supervisor_(host_, [this](const ServiceConfig& s) { return control_.effective_enabled(s); }),
      control_(supervisor_, host_, enable_store_, scale_store_,
               Control::Daemon{
                   .reload_config = [this] { return reload_config(); },
                   .shutdown = [this](const std::string& why) { begin_shutdown(why); },
                   .reexec = [this](const std::shared_ptr<ipc::Connection>& c, int64_t id) { reexec(c, id); },
                   .reexecs = [this] { return options_.state ? options_.state->reexecs : 0; },
               }) {
  uv_loop_init(&loop_);
  host_.set_supervisor(&supervisor_);
  host_.set_log_outputs(&outputs_);
  if (options_.init || ::getpid() == 1) {
    init_ = std::make_unique<InitDuties>(&loop_, ::getpid() == 1,
                                         config_.supervisor.shutdown_timeout,
                                         [this] { finish_shutdown(); });
  }
}

Daemon::~Daemon() {
  // Closing the watchers restores the default dispositions; a late TERM must then wait
  // (blocked) rather than turn a clean exit into death by signal.
  const sigset_t late = handled_signals();
  pthread_sigmask(SIG_BLOCK, &late, nullptr);
  host_.release();
  server_.reset();
  sigterm_.reset();
  sigint_.reset();
  sighup_.reset();
  sigquit_.reset();
  sigusr1_.reset();
  after_reply_timer_.reset();
  after_reply_.clear();
  init_.reset();
  // superd's own log back on plain stderr, the consoles flushed (bounded).
  outputs_.finish();
  // Let close callbacks (and any log write still queued) run before the loop goes.
  uv_run(&loop_, UV_RUN_DEFAULT);
  uv_loop_close(&loop_);
}

// ---- start-up ------------------------------------------------------------------


bool Daemon::prepare(std::string* error) {
  const auto& sup = config_.supervisor;
  start_thread_pool_signals_blocked(&loop_);
  // From now on superd's own log never blocks on a stderr nobody drains.
  outputs_.route_own_log();
  const PathTrust trust = sup.path_trust();
  // Made root's if missing, refused if anyone else could change what is inside (the
  // loader said so already; this is what the directories are now).
  auto state = open_safe_dir(sup.state_dir, trust, Missing::create, 0755);
  if (auto* problem = std::get_if<PathProblem>(&state)) {
    *error = problem->explain("state_dir", sup.state_dir, "superd keeps its state there");
    return false;
  }
  state_dir_ = std::move(std::get<SafeDir>(state));
  auto logs = open_safe_dir(sup.log_dir, trust, Missing::create, 0750);
  if (auto* problem = std::get_if<PathProblem>(&logs)) {
    *error = problem->explain("log_dir", sup.log_dir, "superd writes root-owned files there");
    return false;
  }
  if (options_.state) {
    lock_.adopt(UniqueFd(options_.state->state_lock_fd));
  } else if (!lock_.acquire(state_dir_, trust, error)) {
    return false;
  }
  host_.set_state_dir(&state_dir_);

  std::string store_error;
  if (!enable_store_.load(state_dir_, trust, &store_error)) spdlog::warn("{}", store_error);
  if (!scale_store_.load(&store_error)) spdlog::warn("{}", store_error);
  config_ = with_saved_counts(std::move(config_));
  setup_cgroups_before_first_spawn();
  if (!options_.state) {
    // After a re-exec these are this superd's own services, not leftovers; after a crash
    // under systemd, those it can adopt are not either.
    adopt_after_crash();
    stop_cgroup_leftovers_of_previous_run();
    stop_leftovers_of_previous_run();
  }
  if (!host_.start(error, /*reap_at_once=*/!options_.state)) return false;
  if (!setup_signals(error)) return false;
  if (!open_control_socket(error)) return false;
  // After the server: notify sockets live in the control socket's directory.
  host_.set_inherited(options_.state ? &*options_.state : nullptr);
  supervisor_.load(config_);
  host_.set_inherited(nullptr);
  return true;
}

std::optional<gid_t> Daemon::socket_gid(const std::string& name, std::string* error) const {
  if (name.empty()) return std::nullopt;
  if (group* gr = ::getgrnam(name.c_str())) return gr->gr_gid;
  *error = "socket_group '" + name + "' does not exist";
  return std::nullopt;
}

bool Daemon::open_control_socket(std::string* error) {
  const auto& sup = config_.supervisor;
  ipc::ServerOptions options;
  options.path = sup.socket;
  options.trust = sup.path_trust();
  options.group = socket_gid(sup.socket_group, error);
  if (!error->empty()) return false;
  if (options_.state) {
    options.inherited_fd = options_.state->control_fd;
    options.inherited_lock_fd = options_.state->control_lock_fd;
  }
  server_ = std::make_unique<ipc::Server>(
      &loop_, options, [this](const std::shared_ptr<ipc::Connection>& c, ipc::Request r) {
        control_.handle(c, std::move(r));
      });
  if (auto failure = server_->listen()) {
    *error = *failure;
    return false;
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
  // As PID 1 the kernel drops every signal superd has no handler for: TERM, INT and QUIT
  // (docker stop, Ctrl-C, a core-dump request) all stop the stack.
  // SIGUSR1 is reopen-logs (logrotate's postrotate).
  for (Watch w : {Watch{&sigterm_, SIGTERM}, Watch{&sigint_, SIGINT}, Watch{&sighup_, SIGHUP},
                  Watch{&sigquit_, SIGQUIT}, Watch{&sigusr1_, SIGUSR1}}) {
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
          if (signo == SIGUSR1) {
            self->host_.reopen_logs();
          } else if (signo == SIGHUP) {
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

int Daemon::run() {
  std::string error;
  if (!prepare(&error)) {
    spdlog::critical("{}", error);
    return 1;
  }
  if (options_.state) {
    restore_services();
  } else {
    spdlog::info("superd {} supervising {} services, socket {}", SUPERD_VERSION,
                 supervisor_.in_order().size(), config_.supervisor.socket);
    supervisor_.boot();
  }
  update_notify();
  uv_run(&loop_, UV_RUN_DEFAULT);
  return exit_code_;
}

// ---- shutdown ------------------------------------------------------------------

void Daemon::begin_shutdown(const std::string& why) {
  if (supervisor_.shutting_down()) return;
  spdlog::info("shutting down: {}", why);
  sd_notify(0, "STOPPING=1\nSTATUS=stopping services");
  if (init_) init_->shutdown_begun();
  supervisor_.begin_shutdown();
}

void Daemon::on_all_stopped() {
  if (init_) return init_->services_stopped();  // it finishes once nothing is left
  finish_shutdown();
}

// The stack goes down with a `critical` service, and superd's exit code is the
// service's: its exit status, 128 + the signal that killed it, or 1 when it never ran.
void Daemon::on_critical_failure(Service& service) {
  if (supervisor_.shutting_down()) return;
  const auto& status = service.last_status();
  exit_code_ = !status ? 1 : status->signaled ? 128 + status->code : status->code;
  if (exit_code_ == 0) exit_code_ = 1;  // fatal, yet the last process ended cleanly
  begin_shutdown("critical service " + service.name() + " failed (" + service.reason() +
                 "); superd exits with " + std::to_string(exit_code_));
}

void Daemon::finish_shutdown() {
  if (finished_) return;
  finished_ = true;
  spdlog::info("all services stopped; exiting");
  // Answer whoever waited (e.g. a `stop` or `shutdown` client) before the socket goes.
  control_.finish();
  server_->close();
  // The signal watchers stay (unreferenced, they do not keep the loop alive): a TERM
  // arriving now must not kill superd with the default disposition. Every other handle
  // is closed; the loop then ends once pending log writes and close callbacks are done.
  host_.close_all();
}

// ---- the previous run, and systemd ---------------------------------------------

// A superd killed with -9 (or crashed) left its services running; stop them before
// anything starts, so no service ever runs twice. See proc/leftovers.h for why they are
// stopped rather than re-adopted.
void Daemon::stop_leftovers_of_previous_run() {
  const PathTrust trust = config_.supervisor.path_trust();
  std::string warning;
  std::vector<Leftover> leftovers;
  const auto records = load_running(state_dir_, trust, &warning);
  if (!warning.empty()) {
    spdlog::warn("{}; a process it named cannot be stopped: check for leftovers of a "
                 "previous superd",
                 warning);
  }
  std::vector<RunningRecord> kept;
  const ServiceIndex services(config_.services);
  for (const auto& rec : records) {
    if (adopted(rec.service)) {
      kept.push_back(rec);
      continue;
    }
    const LeftoverKind kind = find_leftover(rec.pid, rec.start_time);
    if (kind == LeftoverKind::none) continue;  // gone, or the pid was reused
    Leftover l{rec.service, rec.pid, SIGTERM, true, std::chrono::milliseconds(10000),
               kind == LeftoverKind::running};
    if (const ServiceConfig* c = services.find(rec.service)) {
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
  if (!save_running(state_dir_, trust, kept, &error)) spdlog::warn("{}", error);
}

// Once, before anything is spawned: superd moves itself into ROOT/supervisor (no
// processes in inner nodes), or says in one line why services run in process groups.
void Daemon::setup_cgroups_before_first_spawn() {
  CgroupOrigin origin;
  if (options_.state) origin = {options_.state->cgroup_own_v2, options_.state->cgroup_own_v2_dir};
  cgroups_ = setup_cgroups(config_.supervisor.cgroup, /*apply=*/true, &origin);
  if (cgroups_.used()) {
    spdlog::info("{}", cgroups_.line());
  } else {
    spdlog::warn("{}", cgroups_.line());
  }
  for (const auto& note : cgroups_.notes) spdlog::warn("cgroups: {}", note);
  for (const auto& s : config_.services) {
    for (const auto& issue : limit_issues(cgroups_, s.resources)) {
      spdlog::warn("{}: {}", s.name, issue.message);
    }
  }
  host_.set_cgroups(&cgroups_);
}

// The leaves a dead superd left below the root hold every process of its services,
// whatever session or group they made: each gets its service's stop, then cgroup.kill.
void Daemon::stop_cgroup_leftovers_of_previous_run() {
  if (!cgroups_.used()) return;
  std::vector<CgroupLeftover> leftovers;
  for (auto& leaf : cgroups_.tree->existing_leaves()) {
    if (adopted_leaf(leaf.name)) continue;
    CgroupLeftover l{leaf};
    for (const auto& s : config_.services) {
      if (leaf.name == cgroup_leaf_name(s.name) || leaf.name == cgroup_leaf_name(s.name, true)) {
        l.stop_signal = s.stop_signal;
        l.stop_timeout = s.stop_timeout;
      }
    }
    leftovers.push_back(std::move(l));
  }
  if (leftovers.empty()) return;
  sd_notify(0, "STATUS=stopping what a previous superd left running");
  for (const auto& line : stop_cgroup_leftovers(*cgroups_.tree, leftovers)) spdlog::warn("{}", line);
}

void Daemon::update_notify() {
  int starting = 0, running = 0, failed = 0;
  for (Service* s : supervisor_.in_order()) {
    if (s->state() == State::starting || s->state() == State::backoff) ++starting;
    if (s->state() == State::running) ++running;
    if (s->state() == State::fatal) ++failed;
  }
  std::string status = "STATUS=" + std::to_string(running) + " running, " +
                       std::to_string(starting) + " starting, " + std::to_string(failed) +
                       " fatal";
  if (!ready_sent_ && supervisor_.boot_done() && !supervisor_.shutting_down()) {
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
